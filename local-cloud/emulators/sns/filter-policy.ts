/**
 * SNS subscription filter policies: which published messages a subscription receives.
 *
 * Behaviour copies https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html and its
 * subpages (string, numeric and key matching, AND/OR logic, policy constraints). Validation messages are
 * the ones AWS answered in recorded calls (LocalStack's `test_sns_filter_policy.snapshot.json`), which come
 * from the rule compiler SNS shares with EventBridge (https://github.com/aws/event-ruler). Validation and matching
 * of values are the shared event-ruler module's; this front end adds SNS's dialect, its limits, its error shape and
 * the `MessageAttributes` scope, where attributes are typed values rather than a JSON body.
 */

import { matcherOf } from '../event-ruler/match.ts';
import { isObject, RuleSyntaxError, type Scalar } from '../event-ruler/operators.ts';
import {
  type Branch,
  type Clause,
  compileRule,
  expandRule,
  type FieldRule,
  fieldsOf,
  type RuleDialect,
} from '../event-ruler/rule.ts';
import { JacksonParseError, parseJsonAsJackson } from '../shared/jackson-json.ts';

/**
 * A filter policy that Subscribe or SetSubscriptionAttributes refuses. `message` is what
 * SetSubscriptionAttributes answers ("Invalid parameter: FilterPolicy: …"); Subscribe answers
 * `Invalid parameter: Attributes Reason: ${reason}`.
 */
export class InvalidFilterPolicyError extends Error {
  readonly code = 'InvalidParameter';

  constructor(readonly reason: string) {
    super(`Invalid parameter: ${reason}`);
    this.name = 'InvalidFilterPolicyError';
  }
}

/** What a policy is matched against (the subscription's `FilterPolicyScope`). */
export type FilterPolicyScope = 'MessageAttributes' | 'MessageBody';

/** A message attribute as Publish takes it. */
export interface SnsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

/** The parts of a published message a filter policy can look at. */
export interface SnsFilterableMessage {
  attributes: Record<string, SnsMessageAttribute>;
  body: string;
}

/** A validated policy, ready to decide deliveries. */
export interface CompiledFilterPolicy {
  matches(message: SnsFilterableMessage): boolean;
}

/** https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html */
const MAX_POLICY_BYTES = 256 * 1024;
const MAX_KEYS = 5;
const MAX_COMBINATIONS = 150;

/** SNS accepts no `exactly` or `wildcard`, `anything-but` only over one prefix, and plain prefixes and suffixes. */
const FILTER_POLICIES: RuleDialect = {
  matchTypes: new Set([
    'prefix',
    'suffix',
    'equals-ignore-case',
    'anything-but',
    'numeric',
    'exists',
    'cidr',
  ]),
  anythingButKinds: ['prefix'],
  anythingButOfList: false,
  affixIgnoreCase: false,
};

const invalid = (reason: string) => new InvalidFilterPolicyError(`FilterPolicy: ${reason}`);

const tooComplex = () => invalid('Filter policy is too complex');

/**
 * The documented complexity: per alternative, the product over its fields of (nesting depth × number of
 * values), summed over alternatives. `{"a": {"b": [4 values]}, "c": [3 values]}` counts 2×4 × 1×3 = 24.
 */
const combinations = (branches: readonly Branch[]): number =>
  branches.reduce(
    (sum, branch) =>
      sum + branch.reduce((product, field) => product * field.keys.length * field.spec.size, 1),
    0,
  );

interface AttributeValues {
  readonly present: boolean;
  readonly values: readonly Scalar[];
  readonly isArray: boolean;
}

const ABSENT: AttributeValues = { present: false, values: [], isArray: false };

const scalarsOf = (value: unknown): Scalar[] => {
  if (Array.isArray(value)) return value.flatMap(scalarsOf);
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return [value];
  return [];
};

/**
 * The values an attribute offers to a policy, by data type: `String.Array` its elements, `Number` (and
 * `Number.*`) a number, `Binary` (and `Binary.*`) nothing, as SNS ignores binary attributes, and any other
 * type its string.
 */
const attributeValues = (attribute: SnsMessageAttribute | undefined): AttributeValues => {
  if (!attribute) return ABSENT;
  const baseType = attribute.DataType.split('.')[0];
  if (baseType === 'Binary') return ABSENT;
  const text = attribute.StringValue ?? '';
  if (attribute.DataType === 'String.Array') {
    try {
      const parsed: unknown = JSON.parse(text);
      return { present: true, values: Array.isArray(parsed) ? scalarsOf(parsed) : [], isArray: true };
    } catch {
      return { present: true, values: [], isArray: true };
    }
  }
  if (baseType === 'Number') {
    const number = text.trim() === '' ? Number.NaN : Number(text);
    return { present: true, values: Number.isFinite(number) ? [number] : [], isArray: false };
  }
  return { present: true, values: [text], isArray: false };
};

/**
 * An attribute matches when any value matches any listed value; `anything-but` on a `String.Array` needs
 * every element to pass, as the SNS guide states for arrays.
 */
const attributeMatches = ({ spec }: FieldRule, attribute: AttributeValues): boolean => {
  if (!attribute.present) return spec.allowsAbsence;
  if (spec.matchesAnyValue) return true;
  if (!attribute.isArray) return attribute.values.some(spec.test);
  return (
    attribute.values.some(spec.testIncluded) ||
    (attribute.values.length > 0 && spec.exclusions.some((exclusion) => attribute.values.every(exclusion)))
  );
};

const parseBody = (body: string): Record<string, unknown> | undefined => {
  try {
    const parsed: unknown = JSON.parse(body);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
};

/** Validates the policy as event-ruler does, then applies SNS's own limits, in the order SNS names them. */
const branchesOf = (policy: Record<string, unknown>, scope: FilterPolicyScope): readonly Branch[] => {
  let clauses: Clause[];
  try {
    clauses = compileRule(policy, [], FILTER_POLICIES);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw invalid(error.message);
    throw error;
  }
  if (scope === 'MessageAttributes' && fieldsOf(clauses).some((field) => field.keys.length > 1)) {
    throw new InvalidFilterPolicyError(
      'Filter policy scope MessageAttributes does not support nested filter policy',
    );
  }
  const branches = expandRule(clauses, MAX_COMBINATIONS);
  if (branches === undefined) throw tooComplex();
  for (const branch of branches) {
    const topKeys = new Set(branch.map((field) => field.keys[0]));
    if (topKeys.size > MAX_KEYS) throw invalid(`Filter policy can not have more than ${MAX_KEYS} keys`);
  }
  if (combinations(branches) > MAX_COMBINATIONS) throw tooComplex();
  return branches;
};

/**
 * Compiles a filter policy, validating it as Subscribe and SetSubscriptionAttributes do, so the local
 * SNS refuses the policies AWS refuses and delivers exactly the messages AWS delivers.
 *
 * Matching: every key must match (AND) and any listed value may (OR); `$or` joins alternatives. Values are
 * exact strings, numbers, `true`/`false`/`null`, or `prefix`, `suffix`, `equals-ignore-case`,
 * `anything-but` (values, or `{"prefix": …}`), `numeric` (`=`, `<`, `<=`, `>`, `>=`, or a range),
 * `exists` and `cidr`. Types are kept apart: numbers match `Number` attributes and JSON numbers only,
 * strings match strings only. A missing key matches only `{"exists": false}`.
 *
 * - `MessageAttributes`: flat policies; `String.Array` attributes match if any element matches
 *   (`anything-but` needs all elements to pass); `Binary` attributes are ignored.
 * - `MessageBody`: nested keys over the JSON body (`{"a": {"b": …}}` and `{"a.b": …}` both address
 *   `a.b`); arrays match if any element matches, and fields from objects in the same array must come
 *   from the same element; a body that is not a JSON object never matches.
 *
 * Limits: at most 5 top-level keys per alternative, at most 150 combinations (depth × values, multiplied
 * across keys, summed across `$or` alternatives), at most 256 KiB. An empty policy (`{}`) matches all.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
 * @see https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
 * @throws {InvalidFilterPolicyError} when AWS would refuse the policy
 */
export function compileFilterPolicy(policy: string, scope: FilterPolicyScope): CompiledFilterPolicy {
  if (Buffer.byteLength(policy) > MAX_POLICY_BYTES) throw invalid('Filter policy is too long');
  let parsed: unknown;
  try {
    parsed = parseJsonAsJackson(policy, 'redacted');
  } catch (error) {
    if (error instanceof JacksonParseError) throw invalid(`failed to parse JSON. ${error.message}`);
    throw error;
  }
  if (!isObject(parsed)) throw invalid('Filter is not an object');
  if (Object.keys(parsed).length === 0) return { matches: () => true };

  const branches = branchesOf(parsed, scope);
  if (scope === 'MessageAttributes') {
    return {
      matches: ({ attributes }) =>
        branches.some((branch) =>
          branch.every((field) =>
            attributeMatches(
              field,
              attributeValues(Object.hasOwn(attributes, field.path) ? attributes[field.path] : undefined),
            ),
          ),
        ),
    };
  }
  const matchesBody = matcherOf(branches);
  return {
    matches: ({ body }) => {
      const payload = parseBody(body);
      return payload !== undefined && matchesBody(payload);
    },
  };
}
