/**
 * SNS subscription filter policies: which published messages a subscription receives.
 *
 * Behaviour copies https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html and its
 * subpages (string, numeric and key matching, AND/OR logic, policy constraints). Validation messages are
 * the ones AWS answered in recorded calls (LocalStack's `test_sns_filter_policy.snapshot.json`), which come
 * from the rule compiler SNS shares with EventBridge (https://github.com/aws/event-ruler).
 */

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

type Scalar = string | number | boolean | null;

type Matcher =
  | { readonly kind: 'exists'; readonly exists: boolean }
  | { readonly kind: 'anything-but'; readonly test: (value: Scalar) => boolean }
  | { readonly kind: 'value'; readonly test: (value: Scalar) => boolean };

interface FieldCondition {
  /** Keys from the policy root joined with dots, as payload paths are. */
  readonly path: string;
  readonly topKey: string;
  readonly depth: number;
  /** How many values the policy lists, for the complexity limit. */
  readonly size: number;
  readonly matchers: readonly Matcher[];
}

type Clause =
  | { readonly kind: 'field'; readonly field: FieldCondition }
  | { readonly kind: 'or'; readonly alternatives: readonly (readonly Clause[])[] };

/** One alternative of the policy once every `$or` is expanded: all its fields must match. */
type Branch = ReadonlyMap<string, FieldCondition>;

const invalid = (reason: string) => new InvalidFilterPolicyError(`FilterPolicy: ${reason}`);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** How the rule compiler names a JSON token in its messages. */
const tokenText = (value: unknown): string => {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (isRecord(value)) return '{';
  return typeof value === 'string' ? value : JSON.stringify(value);
};

const IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

const parseIpv4 = (text: string): number[] | undefined => {
  const octets = text.split('.').map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
};

const parseIpv6 = (text: string): number[] | undefined => {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tail];
  if (!all.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  return all.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
};

/** Address bytes of an IPv4 or IPv6 literal, or `undefined` when the text is not one. */
const parseIp = (text: string): number[] | undefined => {
  if (IPV4.test(text)) return parseIpv4(text);
  if (IPV6.test(text)) return parseIpv6(text);
  return undefined;
};

const withinCidr = (address: readonly number[], base: readonly number[], maskBits: number): boolean => {
  if (address.length !== base.length) return false;
  for (let bit = 0; bit < maskBits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((address[byte] ?? 0) & mask) !== ((base[byte] ?? 0) & mask)) return false;
  }
  return true;
};

const compileCidr = (cidr: string): Matcher => {
  const parts = cidr.split('/');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length !== 2) throw invalid("Malformed CIDR, one '/' required");
  const [ip = '', mask = ''] = parts;
  if (!/^[+-]?\d+$/.test(mask)) throw invalid('Malformed CIDR, mask bits must be an integer');
  const maskBits = Number(mask);
  if (maskBits < 0) throw invalid('Malformed CIDR, mask bits must not be negative');
  if (!IPV4.test(ip) && !IPV6.test(ip)) throw invalid(`Nonstandard IP address: ${ip}`);
  const base = parseIp(ip);
  if (!base) throw invalid(`Invalid IP address: ${ip}`);
  if (base.length === 4 && maskBits > 31) throw invalid('IPv4 mask bits must be < 32');
  if (base.length === 16 && maskBits > 127) throw invalid('IPv6 mask bits must be < 128');
  return {
    kind: 'value',
    test: (value) => {
      if (typeof value !== 'string') return false;
      const address = parseIp(value);
      return address !== undefined && withinCidr(address, base, maskBits);
    },
  };
};

const TOO_MANY_NUMERIC_ELEMENTS = 'Too many elements in numeric expression';

const numericBound = (operator: string, operand: unknown): number => {
  if (typeof operand !== 'number')
    throw invalid(`Value of ${operator === '=' ? 'equals' : operator} must be numeric`);
  return operand;
};

/** `numeric` takes one comparison, or a lower bound (`>`/`>=`) then an upper bound (`<`/`<=`). */
const compileNumeric = (terms: unknown): Matcher => {
  if (!Array.isArray(terms)) throw invalid('Value of numeric must be an array.');
  const [operator, operand, secondOperator, secondOperand] = terms as unknown[];
  if (typeof operator !== 'string') throw invalid(`Invalid member in numeric match: ${tokenText(operator)}`);
  const isNumber = (value: Scalar): value is number => typeof value === 'number';
  switch (operator) {
    case '=': {
      const expected = numericBound(operator, operand);
      if (terms.length > 2) throw invalid(TOO_MANY_NUMERIC_ELEMENTS);
      return { kind: 'value', test: (value) => isNumber(value) && value === expected };
    }
    case '<':
    case '<=': {
      const top = numericBound(operator, operand);
      if (terms.length > 2) throw invalid(TOO_MANY_NUMERIC_ELEMENTS);
      return operator === '<'
        ? { kind: 'value', test: (value) => isNumber(value) && value < top }
        : { kind: 'value', test: (value) => isNumber(value) && value <= top };
    }
    case '>':
    case '>=': {
      const bottom = numericBound(operator, operand);
      const aboveBottom = (value: number) => (operator === '>' ? value > bottom : value >= bottom);
      if (terms.length === 2)
        return { kind: 'value', test: (value) => isNumber(value) && aboveBottom(value) };
      if (typeof secondOperator !== 'string') {
        throw invalid(`Bad value in numeric range: ${tokenText(secondOperator)}`);
      }
      if (secondOperator !== '<' && secondOperator !== '<=') {
        throw invalid(`Bad numeric range operator: ${secondOperator}`);
      }
      const top = numericBound(secondOperator, secondOperand);
      if (terms.length > 4) throw invalid('Too many terms in numeric range expression');
      if (bottom >= top) throw invalid('Bottom must be less than top');
      const belowTop = (value: number) => (secondOperator === '<' ? value < top : value <= top);
      return { kind: 'value', test: (value) => isNumber(value) && aboveBottom(value) && belowTop(value) };
    }
    default:
      throw invalid(`Unrecognized numeric range operator: ${operator}`);
  }
};

/** SNS supports `anything-but` over values and over one `prefix`, not the other nested forms. */
const compileAnythingBut = (operand: unknown): Matcher => {
  if (isRecord(operand)) {
    const [inner, ...rest] = Object.keys(operand);
    if (inner === undefined) throw invalid('Anything-But expression name not found');
    if (inner !== 'prefix') throw invalid(`Unsupported anything-but pattern: ${inner}`);
    const prefix = operand[inner];
    if (typeof prefix !== 'string') throw invalid('prefix match pattern must be a string');
    if (prefix === '') throw invalid('Null prefix/suffix not allowed');
    if (rest.length > 0) throw invalid(TOO_MANY_NUMERIC_ELEMENTS);
    return { kind: 'anything-but', test: (value) => typeof value !== 'string' || !value.startsWith(prefix) };
  }
  let excluded: unknown[];
  if (Array.isArray(operand)) {
    if (operand.some((item) => typeof item !== 'string' && typeof item !== 'number')) {
      throw invalid('Inside anything but list, start|null|boolean is not supported.');
    }
    const strings = operand.filter((item) => typeof item === 'string').length;
    if (strings === 0 ? operand.length === 0 : strings !== operand.length) {
      throw invalid(
        'Inside anything but list, either all values are number or string, mixed type is not supported',
      );
    }
    excluded = operand;
  } else if (typeof operand === 'string' || typeof operand === 'number') {
    excluded = [operand];
  } else {
    throw invalid('Value of anything-but must be an array or single string/number value.');
  }
  return { kind: 'anything-but', test: (value) => !excluded.includes(value) };
};

const stringOperand = (operator: string, operand: unknown): string => {
  if (typeof operand !== 'string') throw invalid(`${operator} match pattern must be a string`);
  return operand;
};

const compileMatchExpression = (expression: Record<string, unknown>): Matcher => {
  const [operator, ...rest] = Object.keys(expression);
  if (operator === undefined) throw invalid('Match expression name not found');
  const operand = expression[operator];
  const onlyOneKey = (matcher: Matcher, overflow = 'Only one key allowed in match expression'): Matcher => {
    if (rest.length > 0) throw invalid(overflow);
    return matcher;
  };
  switch (operator) {
    case 'prefix': {
      const prefix = stringOperand(operator, operand);
      return onlyOneKey({
        kind: 'value',
        test: (value) => typeof value === 'string' && value.startsWith(prefix),
      });
    }
    case 'suffix': {
      const suffix = stringOperand(operator, operand);
      return onlyOneKey({
        kind: 'value',
        test: (value) => typeof value === 'string' && value.endsWith(suffix),
      });
    }
    case 'equals-ignore-case': {
      const expected = stringOperand(operator, operand).toLowerCase();
      return onlyOneKey({
        kind: 'value',
        test: (value) => typeof value === 'string' && value.toLowerCase() === expected,
      });
    }
    case 'anything-but':
      return onlyOneKey(compileAnythingBut(operand), TOO_MANY_NUMERIC_ELEMENTS);
    case 'numeric':
      return onlyOneKey(compileNumeric(operand), TOO_MANY_NUMERIC_ELEMENTS);
    case 'exists':
      if (typeof operand !== 'boolean') throw invalid('exists match pattern must be either true or false.');
      return onlyOneKey({ kind: 'exists', exists: operand });
    case 'cidr':
      return onlyOneKey(compileCidr(stringOperand('prefix', operand)));
    default:
      throw invalid(`Unrecognized match type ${operator}`);
  }
};

const compileValue = (value: unknown): Matcher => {
  if (isRecord(value)) return compileMatchExpression(value);
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value === null
  ) {
    return { kind: 'value', test: (candidate) => candidate === value };
  }
  throw invalid('Match value must be String, number, true, false, or null');
};

const compileObject = (policy: Record<string, unknown>, keys: readonly string[]): Clause[] => {
  const entries = Object.entries(policy);
  if (entries.length === 0) throw invalid('Empty objects are not allowed');
  return entries.map(([key, value]): Clause => {
    if (key === '$or') {
      if (!Array.isArray(value)) throw invalid('It must be an Array followed with $or.');
      const alternatives = value.map((alternative) => {
        if (!isRecord(alternative))
          throw invalid('Only JSON object is allowed in array of $or relationship.');
        return compileObject(alternative, keys);
      });
      if (alternatives.length < 2) throw invalid('There must have at least 2 Objects in $or relationship.');
      return { kind: 'or', alternatives };
    }
    const path = [...keys, key];
    if (isRecord(value)) return { kind: 'or', alternatives: [compileObject(value, path)] };
    if (!Array.isArray(value)) throw invalid(`"${key}" must be an object or an array`);
    if (value.length === 0) throw invalid('Empty arrays are not allowed');
    return {
      kind: 'field',
      field: {
        path: path.join('.'),
        topKey: path[0] ?? key,
        depth: path.length,
        size: value.length,
        matchers: value.map(compileValue),
      },
    };
  });
};

const tooComplex = () => invalid('Filter policy is too complex');

/**
 * Expands `$or` into alternatives. Every alternative adds at least one to the combination count, so more
 * than the limit means the policy is too complex without expanding further.
 */
const expand = (clauses: readonly Clause[]): Branch[] => {
  let branches: Map<string, FieldCondition>[] = [new Map()];
  for (const clause of clauses) {
    const alternatives: Branch[] =
      clause.kind === 'field'
        ? [new Map([[clause.field.path, clause.field]])]
        : clause.alternatives.flatMap((alternative) => expand(alternative));
    branches = branches.flatMap((branch) =>
      alternatives.map((alternative) => new Map([...branch, ...alternative])),
    );
    if (branches.length > MAX_COMBINATIONS) throw tooComplex();
  }
  return branches;
};

const fieldsOf = (clauses: readonly Clause[]): FieldCondition[] =>
  clauses.flatMap((clause) =>
    clause.kind === 'field'
      ? [clause.field]
      : clause.alternatives.flatMap((alternative) => fieldsOf(alternative)),
  );

/**
 * The documented complexity: per alternative, the product over its fields of (nesting depth × number of
 * values), summed over alternatives. `{"a": {"b": [4 values]}, "c": [3 values]}` counts 2×4 × 1×3 = 24.
 */
const combinations = (branches: readonly Branch[]): number =>
  branches.reduce((sum, branch) => {
    let product = 1;
    for (const field of branch.values()) product *= field.depth * field.size;
    return sum + product;
  }, 0);

interface AttributeValues {
  readonly present: boolean;
  readonly values: readonly Scalar[];
  readonly isArray: boolean;
}

const ABSENT: AttributeValues = { present: false, values: [], isArray: false };

const scalarsOf = (value: unknown): Scalar[] => {
  if (Array.isArray(value)) return value.flatMap(scalarsOf);
  if (isRecord(value) || value === undefined) return [];
  return [value as Scalar];
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

const absenceAllowed = (field: FieldCondition): boolean =>
  field.matchers.some((matcher) => matcher.kind === 'exists' && !matcher.exists);

/**
 * An attribute matches when any value matches any listed value; `anything-but` on a `String.Array` needs
 * every element to pass, as the SNS guide states for arrays.
 */
const attributeMatches = (field: FieldCondition, attribute: AttributeValues): boolean => {
  if (!attribute.present) return absenceAllowed(field);
  return field.matchers.some((matcher) => {
    if (matcher.kind === 'exists') return matcher.exists;
    if (matcher.kind === 'anything-but' && attribute.isArray) {
      return attribute.values.length > 0 && attribute.values.every(matcher.test);
    }
    return attribute.values.some(matcher.test);
  });
};

interface Leaf {
  readonly value: Scalar;
  /** The array elements this value sits in, as (array, index) pairs. */
  readonly trail: readonly (readonly [number, number])[];
}

/**
 * The payload's leaf values by dotted path. Both `{"a": {"b": 1}}` and `{"a.b": 1}` give path `a.b`, as
 * SNS matches them alike; arrays contribute each element. Only paths a policy can use are kept.
 */
const flattenBody = (body: Record<string, unknown>, wanted: ReadonlySet<string>): Map<string, Leaf[]> => {
  const leaves = new Map<string, Leaf[]>();
  let arrays = 0;
  const walk = (node: unknown, path: string, trail: Leaf['trail']): void => {
    if (Array.isArray(node)) {
      const array = arrays++;
      node.forEach((item, index) => {
        walk(item, path, [...trail, [array, index]]);
      });
    } else if (isRecord(node)) {
      for (const [key, value] of Object.entries(node)) {
        const child = path === '' ? key : `${path}.${key}`;
        if (wanted.has(child)) walk(value, child, trail);
      }
    } else if (path !== '') {
      const list = leaves.get(path) ?? [];
      list.push({ value: node as Scalar, trail });
      leaves.set(path, list);
    }
  };
  walk(body, '', []);
  return leaves;
};

/** Values bound to different fields must come from the same element of any array they share. */
const compatible = (a: Leaf, b: Leaf): boolean =>
  a.trail.every(([array, index]) =>
    b.trail.every(([other, otherIndex]) => other !== array || otherIndex === index),
  );

const bodyBranchMatches = (branch: Branch, leaves: ReadonlyMap<string, Leaf[]>): boolean => {
  const candidates: Leaf[][] = [];
  for (const field of branch.values()) {
    const found = leaves.get(field.path) ?? [];
    if (found.length === 0) {
      if (absenceAllowed(field)) continue;
      return false;
    }
    const matching = found.filter((leaf) =>
      field.matchers.some((matcher) =>
        matcher.kind === 'exists' ? matcher.exists : matcher.test(leaf.value),
      ),
    );
    if (matching.length === 0) return false;
    candidates.push(matching);
  }
  const chosen: Leaf[] = [];
  const choose = (index: number): boolean => {
    const options = candidates[index];
    if (options === undefined) return true;
    for (const leaf of options) {
      if (chosen.every((other) => compatible(leaf, other))) {
        chosen.push(leaf);
        if (choose(index + 1)) return true;
        chosen.pop();
      }
    }
    return false;
  };
  return choose(0);
};

const parseBody = (body: string): Record<string, unknown> | undefined => {
  try {
    const parsed: unknown = JSON.parse(body);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
};

const pathPrefixes = (branches: readonly Branch[]): Set<string> => {
  const prefixes = new Set<string>();
  for (const branch of branches) {
    for (const path of branch.keys()) {
      let end = path.indexOf('.');
      while (end !== -1) {
        prefixes.add(path.slice(0, end));
        end = path.indexOf('.', end + 1);
      }
      prefixes.add(path);
    }
  }
  return prefixes;
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
    parsed = JSON.parse(policy);
  } catch {
    throw invalid('failed to parse JSON.');
  }
  if (!isRecord(parsed)) throw invalid('Filter is not an object');
  if (Object.keys(parsed).length === 0) return { matches: () => true };

  const clauses = compileObject(parsed, []);
  if (scope === 'MessageAttributes' && fieldsOf(clauses).some((field) => field.depth > 1)) {
    throw new InvalidFilterPolicyError(
      'Filter policy scope MessageAttributes does not support nested filter policy',
    );
  }
  const branches = expand(clauses);
  for (const branch of branches) {
    const topKeys = new Set(Array.from(branch.values(), (field) => field.topKey));
    if (topKeys.size > MAX_KEYS) throw invalid(`Filter policy can not have more than ${MAX_KEYS} keys`);
  }
  if (combinations(branches) > MAX_COMBINATIONS) throw tooComplex();

  if (scope === 'MessageAttributes') {
    return {
      matches: ({ attributes }) =>
        branches.some((branch) =>
          Array.from(branch.values()).every((field) =>
            attributeMatches(
              field,
              attributeValues(Object.hasOwn(attributes, field.path) ? attributes[field.path] : undefined),
            ),
          ),
        ),
    };
  }
  const wanted = pathPrefixes(branches);
  return {
    matches: ({ body }) => {
      const payload = parseBody(body);
      if (!payload) return false;
      const leaves = flattenBody(payload, wanted);
      return branches.some((branch) => bodyBranchMatches(branch, leaves));
    },
  };
}
