/**
 * One aws/event-ruler rule compiler and matcher (https://github.com/aws/event-ruler), shared by the local
 * EventBridge's event patterns and the local SNS's filter policies, which AWS both build on event-ruler. A rule is a
 * JSON object whose leaves are arrays of match values; `$or` splits it into alternatives and nested objects name
 * dotted paths. What the two services accept differs (a {@link RuleDialect}); how a value matches does not:
 * - numbers compare as numbers within -5.0e9..5.0e9 to six decimal places; numeric operators never match a value
 *   outside that range, and an operand outside it is refused;
 * - `exists` looks only at leaf values, so an object or an empty array does not exist;
 * - values taken from an array of objects must come from one element (event-ruler's array consistency), and
 *   `exists: false` is judged against the elements chosen by the fields that sort before it;
 * - strings that are IP literals equal by address, so `::ffff:10.0.0.1` is `10.0.0.1`.
 */

import {
  caseAlternatives,
  comparableKey,
  compileCidr,
  compileWildcard,
  fail,
  foldedEquals,
  foldedPrefix,
  foldedSuffix,
  ipHex,
  isComparable,
  isObject,
  MAX_WILDCARD_COMPLEXITY,
  NUMBER_LIMIT,
  parseWildcard,
  requireComparable,
  tokenText,
  type ValueTest,
  type WildcardTokens,
  wildcardComplexity,
  wildcardMatches,
} from './operators.ts';

export type AnythingButKind = 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard';

/** What one service's rules may say; everything else about a rule is event-ruler's. */
export interface RuleDialect {
  /** Match types beyond values: any other name is an unrecognized match type. */
  readonly matchTypes: ReadonlySet<string>;
  /** The `anything-but: {kind: …}` forms accepted. */
  readonly anythingButKinds: readonly AnythingButKind[];
  /** Whether `anything-but: {kind: …}` takes a list or only one string. */
  readonly anythingButOfList: boolean;
  /** Whether `prefix` and `suffix` take `{"equals-ignore-case": …}`. */
  readonly affixIgnoreCase: boolean;
}

/** The compiled match values of one field. */
export interface FieldSpec {
  /** Whether a value matches any of the field's match values. */
  readonly test: ValueTest;
  /** Whether a value matches a value other than an `anything-but`. */
  readonly testIncluded: ValueTest;
  /** The field's `anything-but` tests, which SNS applies to every element of a `String.Array`. */
  readonly exclusions: readonly ValueTest[];
  /** `exists: true`: any leaf value matches. */
  readonly matchesAnyValue: boolean;
  /** `exists: false`: the field may be absent. */
  readonly allowsAbsence: boolean;
  /** How many match values the rule lists for the field, which SNS's complexity limit counts. */
  readonly size: number;
}

/** A field of a rule: the keys that lead to it from the root and its compiled match values. */
export interface FieldRule {
  readonly keys: readonly string[];
  /** The keys joined with dots, as event paths are: `{"a": {"b": …}}` and `{"a.b": …}` name the same field. */
  readonly path: string;
  readonly spec: FieldSpec;
}

/** One alternative of a rule once every `$or` is expanded: all its fields must match. Sorted by path. */
export type Branch = readonly FieldRule[];

/** A rule as written: fields and `$or` alternatives, validated but not yet expanded. */
export type Clause =
  | { readonly kind: 'field'; readonly field: FieldRule }
  | { readonly kind: 'or'; readonly alternatives: readonly (readonly Clause[])[] };

const OR_KEYWORD = '$or';

const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const ONLY_ONE_KEY = 'Only one key allowed in match expression';
const TOO_MANY_NUMERIC = 'Too many elements in numeric expression';
const ANYTHING_BUT_OPERAND = 'Value of anything-but must be an array or single string/number value.';
const EQUALS_IGNORE_CASE_STRING = 'equals-ignore-case match pattern must be a string';
const WILDCARD_STRING = 'wildcard match pattern must be a string';
const TOO_COMPLEX =
  'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

const compileAffix = (kind: 'prefix' | 'suffix', operand: unknown, dialect: RuleDialect): ValueTest => {
  const label = kind === 'prefix' ? 'Prefix' : 'Suffix';
  if (isObject(operand) && dialect.affixIgnoreCase) {
    const keys = Object.keys(operand);
    const [name] = keys;
    if (name === undefined) return fail(`${label} expression name not found`);
    if (name !== 'equals-ignore-case') fail(`Unsupported ${kind} pattern: ${name}`);
    const text = operand[name];
    if (typeof text !== 'string') return fail(EQUALS_IGNORE_CASE_STRING);
    if (keys.length > 1) fail(ONLY_ONE_KEY);
    const alternatives = caseAlternatives(text);
    return kind === 'prefix'
      ? (value) => typeof value === 'string' && foldedPrefix(value, alternatives)
      : (value) => typeof value === 'string' && foldedSuffix(value, alternatives);
  }
  if (typeof operand !== 'string') return fail(`${kind} match pattern must be a string`);
  return kind === 'prefix'
    ? (value) => typeof value === 'string' && value.startsWith(operand)
    : (value) => typeof value === 'string' && value.endsWith(operand);
};

const numericRange = (bottom: number, openBottom: boolean, top: number, openTop: boolean): ValueTest => {
  if (bottom >= top) fail('Bottom must be less than top');
  const low = requireComparable(bottom);
  const high = requireComparable(top);
  return (value) => {
    if (typeof value !== 'number' || !isComparable(value)) return false;
    const key = comparableKey(value);
    return (openBottom ? key > low : key >= low) && (openTop ? key < high : key <= high);
  };
};

/** `numeric` takes one comparison, or a lower bound (`>`/`>=`) then an upper bound (`<`/`<=`). */
const compileNumeric = (terms: readonly unknown[]): ValueTest => {
  const [operator, operand] = terms;
  if (typeof operator !== 'string') return fail(`Invalid member in numeric match: ${tokenText(operator)}`);
  switch (operator) {
    case '=': {
      if (typeof operand !== 'number') fail('Value of equals must be numeric');
      if (terms.length > 2) fail(TOO_MANY_NUMERIC);
      const expected = requireComparable(operand);
      return (value) => typeof value === 'number' && isComparable(value) && comparableKey(value) === expected;
    }
    case '>=':
    case '>': {
      if (typeof operand !== 'number') fail(`Value of ${operator} must be numeric`);
      const openBottom = operator === '>';
      if (terms.length === 2) return numericRange(operand, openBottom, NUMBER_LIMIT, false);
      const [, , upperOperator, upperOperand] = terms;
      if (typeof upperOperator !== 'string') fail(`Bad value in numeric range: ${tokenText(upperOperator)}`);
      if (upperOperator !== '<' && upperOperator !== '<=')
        fail(`Bad numeric range operator: ${upperOperator}`);
      if (typeof upperOperand !== 'number') fail(`Value of ${upperOperator} must be numeric`);
      if (terms.length > 4) fail('Too many terms in numeric range expression');
      return numericRange(operand, openBottom, upperOperand, upperOperator === '<');
    }
    case '<=':
    case '<':
      if (typeof operand !== 'number') fail(`Value of ${operator} must be numeric`);
      if (terms.length > 2) fail(TOO_MANY_NUMERIC);
      return numericRange(-NUMBER_LIMIT, false, operand, operator === '<');
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`);
  }
};

const anythingButTypeError = (kind: AnythingButKind, dialect: RuleDialect): string => {
  if (kind === 'equals-ignore-case') {
    return 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.';
  }
  if (kind === 'wildcard') return WILDCARD_STRING;
  return dialect.anythingButOfList
    ? 'prefix/suffix match pattern must be a string'
    : `${kind} match pattern must be a string`;
};

const compileAnythingButOf = (
  kind: AnythingButKind,
  operand: unknown,
  wildcards: WildcardTokens[],
  dialect: RuleDialect,
): ValueTest => {
  const values: string[] = [];
  for (const text of Array.isArray(operand) && dialect.anythingButOfList ? operand : [operand]) {
    if (typeof text !== 'string') fail(anythingButTypeError(kind, dialect));
    if ((kind === 'prefix' || kind === 'suffix') && text === '') fail('Null prefix/suffix not allowed');
    values.push(text);
  }
  switch (kind) {
    case 'equals-ignore-case': {
      const alternatives = values.map(caseAlternatives);
      return (value) =>
        typeof value !== 'string' || !alternatives.some((option) => foldedEquals(value, option));
    }
    case 'prefix':
      return (value) => typeof value !== 'string' || !values.some((prefix) => value.startsWith(prefix));
    case 'suffix':
      return (value) => typeof value !== 'string' || !values.some((suffix) => value.endsWith(suffix));
    case 'wildcard': {
      const segmentLists = values.map((pattern) => {
        const { segments, tokens } = parseWildcard(pattern);
        wildcards.push(tokens);
        return segments;
      });
      return (value) =>
        typeof value !== 'string' || !segmentLists.some((segments) => wildcardMatches(segments, value));
    }
  }
};

const anythingButValues = (values: readonly unknown[]): ValueTest => {
  const strings = new Set<string>();
  const numberKeys = new Set<number>();
  for (const value of values) {
    if (typeof value === 'string') strings.add(value);
    else if (typeof value === 'number') numberKeys.add(requireComparable(value));
    else fail('Inside anything but list, start|null|boolean is not supported.');
  }
  if (strings.size > 0 === numberKeys.size > 0) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported');
  }
  if (numberKeys.size > 0) {
    return (value) =>
      typeof value !== 'number' || !isComparable(value) || !numberKeys.has(comparableKey(value));
  }
  return (value) => typeof value !== 'string' || !strings.has(value);
};

const compileAnythingBut = (
  operand: unknown,
  wildcards: WildcardTokens[],
  dialect: RuleDialect,
): ValueTest => {
  if (isObject(operand)) {
    const keys = Object.keys(operand);
    const [name] = keys;
    if (name === undefined) return fail('Anything-But expression name not found');
    const kind = dialect.anythingButKinds.find((known) => known === name);
    if (kind === undefined) return fail(`Unsupported anything-but pattern: ${name}`);
    const inner = operand[kind];
    if (
      dialect.anythingButOfList &&
      !Array.isArray(inner) &&
      typeof inner !== 'string' &&
      typeof inner !== 'number'
    )
      fail(ANYTHING_BUT_OPERAND);
    const test = compileAnythingButOf(kind, inner, wildcards, dialect);
    if (keys.length > 1) fail(TOO_MANY_NUMERIC);
    return test;
  }
  if (Array.isArray(operand)) return anythingButValues(operand);
  if (typeof operand === 'string' || typeof operand === 'number') return anythingButValues([operand]);
  return fail(ANYTHING_BUT_OPERAND);
};

class FieldSpecBuilder {
  readonly strings = new Set<string>();
  readonly ipAddresses = new Set<string>();
  readonly numberKeys = new Set<number>();
  readonly largeNumbers = new Set<number>();
  readonly booleans = new Set<boolean>();
  readonly predicates: ValueTest[] = [];
  readonly exclusions: ValueTest[] = [];
  readonly wildcards: WildcardTokens[] = [];
  matchesNull = false;
  matchesAnyValue = false;
  allowsAbsence = false;

  constructor(private readonly dialect: RuleDialect) {}

  addValue(value: unknown): void {
    if (typeof value === 'string') {
      this.strings.add(value);
      const hex = ipHex(value);
      if (hex !== undefined) this.ipAddresses.add(hex);
    } else if (typeof value === 'number') {
      if (isComparable(value)) this.numberKeys.add(comparableKey(value));
      else this.largeNumbers.add(value);
    } else if (typeof value === 'boolean') {
      this.booleans.add(value);
    } else if (value === null) {
      this.matchesNull = true;
    } else if (isObject(value)) {
      this.addMatchExpression(value);
    } else {
      fail('Match value must be String, number, true, false, or null');
    }
  }

  build(size: number): FieldSpec {
    const { strings, ipAddresses, numberKeys, largeNumbers, booleans, predicates, exclusions, matchesNull } =
      this;
    const { matchesAnyValue, allowsAbsence } = this;
    const testIncluded: ValueTest = (value) => {
      if (matchesAnyValue) return true;
      if (typeof value === 'string') {
        if (strings.has(value)) return true;
        if (ipAddresses.size > 0) {
          const hex = ipHex(value);
          if (hex !== undefined && ipAddresses.has(hex)) return true;
        }
      } else if (typeof value === 'number') {
        if (isComparable(value) ? numberKeys.has(comparableKey(value)) : largeNumbers.has(value)) return true;
      } else if (value === null) {
        if (matchesNull) return true;
      } else if (booleans.has(value)) {
        return true;
      }
      return predicates.some((predicate) => predicate(value));
    };
    const test: ValueTest = (value) =>
      testIncluded(value) || exclusions.some((exclusion) => exclusion(value));
    return { test, testIncluded, exclusions, matchesAnyValue, allowsAbsence, size };
  }

  private addMatchExpression(expression: Record<string, unknown>): void {
    const keys = Object.keys(expression);
    const [name] = keys;
    if (name === undefined) fail('Match expression name not found');
    if (!this.dialect.matchTypes.has(name)) fail(`Unrecognized match type ${name}`);
    const operand = expression[name];
    const extraKeys = keys.length > 1;
    switch (name) {
      case 'exactly':
        if (typeof operand !== 'string') fail('exact match pattern must be a string');
        if (extraKeys) fail(ONLY_ONE_KEY);
        this.strings.add(operand);
        return;
      case 'prefix':
      case 'suffix':
        this.predicates.push(compileAffix(name, operand, this.dialect));
        if (extraKeys) fail(ONLY_ONE_KEY);
        return;
      case 'numeric':
        if (!Array.isArray(operand)) fail('Value of numeric must be an array.');
        this.predicates.push(compileNumeric(operand));
        if (extraKeys) fail(TOO_MANY_NUMERIC);
        return;
      case 'anything-but':
        this.exclusions.push(compileAnythingBut(operand, this.wildcards, this.dialect));
        if (extraKeys) fail(TOO_MANY_NUMERIC);
        return;
      case 'exists':
        if (typeof operand !== 'boolean') fail('exists match pattern must be either true or false.');
        if (extraKeys) fail(ONLY_ONE_KEY);
        if (operand) this.matchesAnyValue = true;
        else this.allowsAbsence = true;
        return;
      case 'cidr':
        if (typeof operand !== 'string') fail('prefix match pattern must be a string');
        this.predicates.push(compileCidr(operand));
        if (extraKeys) fail(ONLY_ONE_KEY);
        return;
      case 'equals-ignore-case': {
        if (typeof operand !== 'string') fail(EQUALS_IGNORE_CASE_STRING);
        const alternatives = caseAlternatives(operand);
        this.predicates.push((value) => typeof value === 'string' && foldedEquals(value, alternatives));
        if (extraKeys) fail(ONLY_ONE_KEY);
        return;
      }
      case 'wildcard':
        if (typeof operand !== 'string') fail(WILDCARD_STRING);
        this.predicates.push(compileWildcard(operand, this.wildcards));
        if (extraKeys) fail(ONLY_ONE_KEY);
        return;
      default:
        fail(`Unrecognized match type ${name}`);
    }
  }
}

const compileField = (values: readonly unknown[], dialect: RuleDialect): FieldSpec => {
  const builder = new FieldSpecBuilder(dialect);
  for (const value of values) builder.addValue(value);
  if (values.length === 0) fail('Empty arrays are not allowed');
  if (builder.wildcards.length > 0 && wildcardComplexity(builder.wildcards) > MAX_WILDCARD_COMPLEXITY)
    fail(TOO_COMPLEX);
  return builder.build(values.length);
};

const compileOr = (alternatives: unknown, keys: readonly string[], dialect: RuleDialect): Clause => {
  if (!Array.isArray(alternatives)) fail(`It must be an Array followed with ${OR_KEYWORD}.`);
  const compiled = alternatives.map((alternative) => {
    if (!isObject(alternative)) fail(`Only JSON object is allowed in array of ${OR_KEYWORD} relationship.`);
    return compileRule(alternative, keys, dialect, true);
  });
  if (compiled.length < 2) fail(`There must have at least 2 Objects in ${OR_KEYWORD} relationship.`);
  return { kind: 'or', alternatives: compiled };
};

/**
 * Validates a rule object the way event-ruler's JsonRuleCompiler does, in its order, so that the first problem
 * found is the one AWS names. Throws {@link RuleSyntaxError}.
 */
export function compileRule(
  rule: Record<string, unknown>,
  keys: readonly string[],
  dialect: RuleDialect,
  insideOr = false,
): Clause[] {
  const entries = Object.entries(rule);
  if (entries.length === 0) fail('Empty objects are not allowed');
  return entries.map(([key, value]): Clause => {
    if (key === OR_KEYWORD) return compileOr(value, keys, dialect);
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR_KEYWORD}.`);
    }
    const path = [...keys, key];
    if (isObject(value)) return { kind: 'or', alternatives: [compileRule(value, path, dialect, insideOr)] };
    if (!Array.isArray(value)) fail(`"${key}" must be an object or an array`);
    const spec = compileField(value, dialect);
    return { kind: 'field', field: { keys: path, path: path.join('.'), spec } };
  });
}

/** Every field a rule names, before expansion. */
export const fieldsOf = (clauses: readonly Clause[]): FieldRule[] =>
  clauses.flatMap((clause) =>
    clause.kind === 'field'
      ? [clause.field]
      : clause.alternatives.flatMap((alternative) => fieldsOf(alternative)),
  );

const expandInto = (clauses: readonly Clause[], limit: number): Map<string, FieldRule>[] | undefined => {
  let branches: Map<string, FieldRule>[] = [new Map()];
  for (const clause of clauses) {
    const alternatives: Map<string, FieldRule>[] = [];
    if (clause.kind === 'field') alternatives.push(new Map([[clause.field.path, clause.field]]));
    for (const alternative of clause.kind === 'or' ? clause.alternatives : []) {
      const expanded = expandInto(alternative, limit);
      if (expanded === undefined) return undefined;
      alternatives.push(...expanded);
    }
    branches = branches.flatMap((branch) =>
      alternatives.map((alternative) => new Map([...branch, ...alternative])),
    );
    if (branches.length > limit) return undefined;
  }
  return branches;
};

const byPath = (left: FieldRule, right: FieldRule): number =>
  left.path < right.path ? -1 : left.path > right.path ? 1 : 0;

/**
 * Expands every `$or` into one branch per alternative, like event-ruler's sub-rules; a later field on the same path
 * replaces an earlier one. `undefined` when there would be more than `limit` branches.
 */
export const expandRule = (
  clauses: readonly Clause[],
  limit = Number.POSITIVE_INFINITY,
): Branch[] | undefined => expandInto(clauses, limit)?.map((branch) => [...branch.values()].sort(byPath));
