/**
 * The local EventBridge's event-pattern engine: validation and matching with the semantics AWS documents
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
 * which EventBridge implements with aws/event-ruler. Where the documentation is silent, event-ruler's
 * behaviour and the answers AWS gives to TestEventPattern decide. The parts that surprise people:
 * - numbers compare as numbers within -5.0e9..5.0e9 to six decimal places; numeric operators never match
 *   a value outside that range, and a pattern operand outside it is refused;
 * - `exists` looks only at leaf values, so an object or an empty array does not exist;
 * - values taken from an array of objects must come from one element (event-ruler's array consistency),
 *   and `exists: false` is judged against the elements chosen by the fields that sort before it;
 * - a wildcard field whose patterns keep more than ten prefixes alive at once is "too complex".
 */

/** An event pattern as EventBridge stores it: a JSON object whose leaves are arrays of match values. */
export type EventPattern = Record<string, unknown>;

/**
 * Thrown for a pattern EventBridge would refuse. The message has AWS's shape
 * (`Event pattern is not valid. Reason: ...`) and `code` is the error code PutRule and TestEventPattern answer
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html#API_TestEventPattern_Errors).
 */
export class InvalidEventPatternError extends Error {
  readonly code = 'InvalidEventPatternException';

  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.name = new.target.name;
  }
}

/** A validated pattern, compiled once so that matching an event does no parsing or validation. */
export interface CompiledPattern {
  /**
   * Whether the event matches. The event is a parsed JSON object; anything else never matches, since the API in
   * front (PutEvents, TestEventPattern) has already refused events that are not JSON objects.
   */
  matches(event: unknown): boolean;
  /** The pattern as parsed from its JSON form. */
  readonly source: EventPattern;
}

type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;

interface FieldSpec {
  readonly test: ValueTest;
  readonly allowsAbsence: boolean;
  readonly wildcards: readonly WildcardTokens[];
}

interface FieldRule {
  readonly path: string;
  readonly spec: FieldSpec;
}

type Branch = readonly FieldRule[];
type SubRule = Map<string, FieldSpec>;

/** Flattened `[arrayId, index, arrayId, index, ...]` pairs of the array elements that contain a value. */
type Membership = readonly number[];

interface Leaf {
  readonly value: Scalar;
  readonly membership: Membership;
}

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
const BOTTOM_NOT_BELOW_TOP = 'Bottom must be less than top';
const ANYTHING_BUT_OPERAND = 'Value of anything-but must be an array or single string/number value.';
const EQUALS_IGNORE_CASE_STRING = 'equals-ignore-case match pattern must be a string';
const WILDCARD_STRING = 'wildcard match pattern must be a string';
const TOO_COMPLEX =
  'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

/**
 * Numbers compare with the range and precision EventBridge documents for numeric matching: -5.0e9 to 5.0e9,
 * six digits right of the decimal point.
 */
const NUMBER_LIMIT = 5e9;
const NUMBER_OUT_OF_RANGE = 'Value must be between -5.0E9 and 5.0E9, inclusive';

/** The most wildcard-pattern prefixes one value may keep alive at once before AWS calls a rule too complex. */
const MAX_WILDCARD_COMPLEXITY = 10;
const MAX_COMPLEXITY_STATES = 5000;

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isComparable = (value: number): boolean => value >= -NUMBER_LIMIT && value <= NUMBER_LIMIT;

const comparableKey = (value: number): number => Math.trunc(1e6 * (NUMBER_LIMIT + value));

const requireComparable = (value: number): number =>
  isComparable(value) ? comparableKey(value) : fail(NUMBER_OUT_OF_RANGE);

const tokenText = (value: unknown): string => {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (isObject(value)) return '{';
  return String(value);
};

const utf8Length = (codePoint: number): number => {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
};

const utf8Bytes = (text: string): number[] => Array.from(Buffer.from(text, 'utf8'));

// IP literals, recognised and compared the way event-ruler does (hex of the address bytes).

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

const parseIpv4 = (text: string): number[] | undefined => {
  const bytes = text.split('.').map(Number);
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
};

const parseIpv6Groups = (text: string): number[] | undefined => {
  if (text === '') return [];
  const groups = text.split(':');
  return groups.every((group) => HEX_GROUP.test(group))
    ? groups.map((group) => Number.parseInt(group, 16))
    : undefined;
};

const parseIpv6 = (text: string): number[] | undefined => {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseIpv6Groups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const bytes = [...head, ...new Array<number>(missing).fill(0), ...tail].flatMap((group) => [
    group >> 8,
    group & 0xff,
  ]);
  const ipv4Mapped =
    bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return ipv4Mapped ? bytes.slice(12) : bytes;
};

/** `undefined` when the text does not look like an IP literal, `null` when it looks like one but is not valid. */
const parseIp = (text: string): number[] | null | undefined => {
  if (IPV4_SHAPE.test(text)) return parseIpv4(text) ?? null;
  if (IPV6_SHAPE.test(text)) return parseIpv6(text) ?? null;
  return undefined;
};

const toHex = (bytes: readonly number[]): string =>
  bytes
    .map((byte) => byte.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();

const ipHex = (text: string): string | undefined => {
  const bytes = parseIp(text);
  return bytes ? toHex(bytes) : undefined;
};

const JAVA_INT = /^[+-]?[0-9]+$/;

const compileCidr = (cidr: string): ValueTest => {
  const parts = cidr.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  const [address = '', maskText = ''] = parts;
  if (parts.length !== 2) fail("Malformed CIDR, one '/' required");
  const maskBits = Number(maskText);
  if (!JAVA_INT.test(maskText) || maskBits > 2 ** 31 - 1 || maskBits < -(2 ** 31)) {
    fail('Malformed CIDR, mask bits must be an integer');
  }
  if (maskBits < 0) fail('Malformed CIDR, mask bits must not be negative');
  const bytes = parseIp(address);
  if (bytes === null) fail(`Invalid IP address: ${address}`);
  if (bytes === undefined) return fail(`Nonstandard IP address: ${address}`);
  if (bytes.length === 4 && maskBits > 31) fail('IPv4 mask bits must be < 32');
  if (bytes.length === 16 && maskBits > 127) fail('IPv6 mask bits must be < 128');
  const bottom = bytes.map((byte, index) => {
    const fixedBits = Math.min(8, Math.max(0, maskBits - index * 8));
    return byte & ((0xff << (8 - fixedBits)) & 0xff);
  });
  const top = bytes.map((byte, index) => {
    const fixedBits = Math.min(8, Math.max(0, maskBits - index * 8));
    return byte | (0xff >> fixedBits);
  });
  const low = toHex(bottom);
  const high = toHex(top);
  return (value) => {
    if (typeof value !== 'string') return false;
    const hex = ipHex(value);
    return hex !== undefined && hex.length === low.length && hex >= low && hex <= high;
  };
};

// Wildcards: `*` matches any run of characters, `\*` and `\\` are literal.

interface WildcardTokens {
  /** UTF-8 bytes of the quoted pattern as event-ruler sees it; -1 is a wildcard. */
  readonly bytes: readonly number[];
}

interface ParsedWildcard {
  readonly segments: readonly string[];
  readonly tokens: WildcardTokens;
}

const WILDCARD_BYTE = -1;

const parseWildcard = (pattern: string): ParsedWildcard => {
  const segments: string[] = [];
  const bytes: number[] = [0x22];
  let segment = '';
  let position = 1;
  const characters = Array.from(pattern);
  for (let index = 0; index < characters.length; index++) {
    const character = characters[index] ?? '';
    if (character === '*') {
      if (characters[index + 1] === '*') fail(`Consecutive wildcard characters at pos ${position}`);
      segments.push(segment);
      segment = '';
      bytes.push(WILDCARD_BYTE);
      position += 1;
    } else if (character === '\\') {
      const escaped = characters[index + 1];
      if (escaped !== '*' && escaped !== '\\') fail(`Invalid escape character at pos ${position}`);
      segment += escaped;
      bytes.push(escaped === '*' ? 0x2a : 0x5c);
      position += 2;
      index += 1;
    } else {
      segment += character;
      bytes.push(...utf8Bytes(character));
      position += utf8Length(character.codePointAt(0) ?? 0);
    }
  }
  segments.push(segment);
  bytes.push(0x22);
  return { segments, tokens: { bytes } };
};

const wildcardMatches = (segments: readonly string[], value: string): boolean => {
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last))
    return false;
  const end = value.length - last.length;
  let position = first.length;
  for (let index = 1; index < segments.length - 1; index++) {
    const segment = segments[index] ?? '';
    const found = value.indexOf(segment, position);
    if (found < 0 || found + segment.length > end) return false;
    position = found + segment.length;
  }
  return true;
};

const compileWildcard = (pattern: string, wildcards: WildcardTokens[]): ValueTest => {
  const { segments, tokens } = parseWildcard(pattern);
  wildcards.push(tokens);
  return (value) => typeof value === 'string' && wildcardMatches(segments, value);
};

/**
 * The largest number of wildcard-pattern prefixes a single value can keep alive at once, which is how event-ruler
 * measures a rule's wildcard complexity (MachineComplexityEvaluator), explored over the patterns' joint automaton.
 */
const wildcardComplexity = (patterns: readonly WildcardTokens[]): number => {
  const literal: number[] = [];
  const loops: boolean[] = [];
  const epsilon: number[] = [];
  const starts: number[] = [];
  const alphabet = new Set<number>([-2]);
  for (const { bytes } of patterns) {
    const offset = literal.length;
    starts.push(offset);
    for (let state = 0; state <= bytes.length; state++) {
      const token = bytes[state];
      literal.push(token !== undefined && token !== WILDCARD_BYTE ? token : -3);
      epsilon.push(token === WILDCARD_BYTE ? offset + state + 1 : -1);
      loops.push(state > 0 && bytes[state - 1] === WILDCARD_BYTE);
      if (token !== undefined && token !== WILDCARD_BYTE) alphabet.add(token);
    }
  }
  const isStart = new Set(starts);
  const close = (states: Set<number>): number[] => {
    for (const state of states) {
      let next = epsilon[state] ?? -1;
      while (next >= 0 && !states.has(next)) {
        states.add(next);
        next = epsilon[next] ?? -1;
      }
    }
    return [...states].sort((a, b) => a - b);
  };
  const seen = new Set<string>();
  const pending = [close(new Set(starts))];
  let maximum = 0;
  while (pending.length > 0 && seen.size < MAX_COMPLEXITY_STATES) {
    const active = pending.pop() ?? [];
    for (const byte of alphabet) {
      const next = new Set<number>();
      for (const state of active) {
        if (loops[state]) next.add(state);
        if (literal[state] === byte) next.add(state + 1);
      }
      if (next.size === 0) continue;
      const closed = close(next);
      const complexity = closed.filter((state) => !isStart.has(state)).length;
      if (complexity > MAX_WILDCARD_COMPLEXITY) return complexity;
      maximum = Math.max(maximum, complexity);
      const key = closed.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(closed);
      }
    }
  }
  return maximum;
};

// equals-ignore-case: each pattern character matches its lower- or upper-case form, as event-ruler does.

type CaseAlternatives = readonly (readonly string[])[];

const caseAlternatives = (text: string): CaseAlternatives =>
  Array.from(text, (character) => {
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    return lower === upper ? [lower] : [lower, upper];
  });

const foldedPrefixEnds = (value: string, alternatives: CaseAlternatives): number[] => {
  let positions = [0];
  for (const options of alternatives) {
    const next: number[] = [];
    for (const position of positions) {
      for (const option of options) {
        const end = position + option.length;
        if (value.startsWith(option, position) && !next.includes(end)) next.push(end);
      }
    }
    if (next.length === 0) return next;
    positions = next;
  }
  return positions;
};

const foldedEquals = (value: string, alternatives: CaseAlternatives): boolean =>
  foldedPrefixEnds(value, alternatives).includes(value.length);

const foldedPrefix = (value: string, alternatives: CaseAlternatives): boolean =>
  foldedPrefixEnds(value, alternatives).length > 0;

const foldedSuffix = (value: string, alternatives: CaseAlternatives): boolean => {
  let positions = [value.length];
  for (let index = alternatives.length - 1; index >= 0; index--) {
    const next: number[] = [];
    for (const position of positions) {
      for (const option of alternatives[index] ?? []) {
        const start = position - option.length;
        if (start >= 0 && value.startsWith(option, start) && !next.includes(start)) next.push(start);
      }
    }
    if (next.length === 0) return false;
    positions = next;
  }
  return true;
};

class FieldSpecBuilder {
  readonly strings = new Set<string>();
  readonly ipAddresses = new Set<string>();
  readonly numberKeys = new Set<number>();
  readonly largeNumbers = new Set<number>();
  readonly booleans = new Set<boolean>();
  readonly predicates: ValueTest[] = [];
  readonly wildcards: WildcardTokens[] = [];
  matchesNull = false;
  matchesAnyValue = false;
  allowsAbsence = false;

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

  build(): FieldSpec {
    const {
      strings,
      ipAddresses,
      numberKeys,
      largeNumbers,
      booleans,
      predicates,
      matchesNull,
      matchesAnyValue,
    } = this;
    const test: ValueTest = (value) => {
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
      for (const predicate of predicates) if (predicate(value)) return true;
      return false;
    };
    return { test, allowsAbsence: this.allowsAbsence, wildcards: this.wildcards };
  }

  private addMatchExpression(expression: Record<string, unknown>): void {
    const keys = Object.keys(expression);
    const [name] = keys;
    if (name === undefined) fail('Match expression name not found');
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
        this.predicates.push(compileAffix(name, operand));
        if (extraKeys) fail(ONLY_ONE_KEY);
        return;
      case 'numeric':
        if (!Array.isArray(operand)) fail('Value of numeric must be an array.');
        this.predicates.push(compileNumeric(operand));
        if (extraKeys) fail(TOO_MANY_NUMERIC);
        return;
      case 'anything-but':
        this.predicates.push(compileAnythingBut(operand, this.wildcards));
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

const compileAffix = (kind: 'prefix' | 'suffix', operand: unknown): ValueTest => {
  const label = kind === 'prefix' ? 'Prefix' : 'Suffix';
  if (isObject(operand)) {
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
  if (bottom >= top) fail(BOTTOM_NOT_BELOW_TOP);
  const low = requireComparable(bottom);
  const high = requireComparable(top);
  return (value) => {
    if (typeof value !== 'number' || !isComparable(value)) return false;
    const key = comparableKey(value);
    return (openBottom ? key > low : key >= low) && (openTop ? key < high : key <= high);
  };
};

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

type AnythingButKind = 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard';

const isAnythingButKind = (kind: string): kind is AnythingButKind =>
  kind === 'equals-ignore-case' || kind === 'prefix' || kind === 'suffix' || kind === 'wildcard';

const anythingButTypeError = (kind: AnythingButKind): string => {
  if (kind === 'equals-ignore-case') {
    return 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.';
  }
  if (kind === 'wildcard') return WILDCARD_STRING;
  return 'prefix/suffix match pattern must be a string';
};

const compileAnythingButOf = (
  kind: AnythingButKind,
  operand: unknown,
  wildcards: WildcardTokens[],
): ValueTest => {
  const values: string[] = [];
  for (const text of Array.isArray(operand) ? operand : [operand]) {
    if (typeof text !== 'string') fail(anythingButTypeError(kind));
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

const compileAnythingBut = (operand: unknown, wildcards: WildcardTokens[]): ValueTest => {
  if (isObject(operand)) {
    const keys = Object.keys(operand);
    const [kind] = keys;
    if (kind === undefined) return fail('Anything-But expression name not found');
    if (!isAnythingButKind(kind)) return fail(`Unsupported anything-but pattern: ${kind}`);
    const inner = operand[kind];
    if (!Array.isArray(inner) && typeof inner !== 'string' && typeof inner !== 'number')
      fail(ANYTHING_BUT_OPERAND);
    const test = compileAnythingButOf(kind, inner, wildcards);
    if (keys.length > 1) fail(TOO_MANY_NUMERIC);
    return test;
  }
  if (Array.isArray(operand)) return anythingButValues(operand);
  if (typeof operand === 'string' || typeof operand === 'number') return anythingButValues([operand]);
  return fail(ANYTHING_BUT_OPERAND);
};

const compileField = (values: readonly unknown[]): FieldSpec => {
  const builder = new FieldSpecBuilder();
  for (const value of values) builder.addValue(value);
  if (values.length === 0) fail('Empty arrays are not allowed');
  const spec = builder.build();
  if (spec.wildcards.length > 0 && wildcardComplexity(spec.wildcards) > MAX_WILDCARD_COMPLEXITY)
    fail(TOO_COMPLEX);
  return spec;
};

// `$or` expands into one sub-rule per branch, like event-ruler's JsonRuleCompiler; paths join keys with dots, so
// `{"a": {"b": ...}}` and `{"a.b": ...}` name the same field, as the EventBridge documentation warns.

const joinPath = (prefix: string | undefined, key: string): string =>
  prefix === undefined ? key : `${prefix}.${key}`;

const compileObject = (
  rules: SubRule[],
  prefix: string | undefined,
  object: Record<string, unknown>,
  insideOr: boolean,
): void => {
  const entries = Object.entries(object);
  if (entries.length === 0) fail('Empty objects are not allowed');
  for (const [key, value] of entries) {
    if (key === OR_KEYWORD) {
      compileOr(rules, prefix, value);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR_KEYWORD}.`);
    }
    if (isObject(value)) {
      compileObject(rules, joinPath(prefix, key), value, insideOr);
    } else if (Array.isArray(value)) {
      const spec = compileField(value);
      if (rules.length === 0) rules.push(new Map());
      for (const rule of rules) rule.set(joinPath(prefix, key), spec);
    } else {
      fail(`"${key}" must be an object or an array`);
    }
  }
};

const compileOr = (rules: SubRule[], prefix: string | undefined, alternatives: unknown): void => {
  const before = rules.splice(0, rules.length);
  if (!Array.isArray(alternatives)) fail(`It must be an Array followed with ${OR_KEYWORD}.`);
  for (const alternative of alternatives) {
    if (!isObject(alternative)) fail(`Only JSON object is allowed in array of ${OR_KEYWORD} relationship.`);
    const branchRules: SubRule[] = before.length === 0 ? [new Map()] : before.map((rule) => new Map(rule));
    compileObject(branchRules, prefix, alternative, true);
    rules.push(...branchRules);
  }
  if (alternatives.length < 2) {
    fail(`There must have at least 2 Objects in ${OR_KEYWORD} relationship.`);
  }
};

const parsePattern = (pattern: string | EventPattern): unknown => {
  try {
    return JSON.parse(typeof pattern === 'string' ? pattern : JSON.stringify(pattern));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidEventPatternError(reason, { cause: error });
  }
};

// Matching: the event is flattened to the dotted paths the pattern names, then each branch looks for values
// that all come from the same element of every array they share (event-ruler's array consistency).

const mergeMembership = (constraints: Membership, membership: Membership): Membership | undefined => {
  if (membership.length === 0) return constraints;
  let merged: number[] | undefined;
  for (let index = 0; index < membership.length; index += 2) {
    const arrayId = membership[index];
    const element = membership[index + 1];
    let found = false;
    for (let known = 0; known < constraints.length; known += 2) {
      if (constraints[known] === arrayId) {
        if (constraints[known + 1] !== element) return undefined;
        found = true;
        break;
      }
    }
    if (!found && arrayId !== undefined && element !== undefined) {
      merged ??= [...constraints];
      merged.push(arrayId, element);
    }
  }
  return merged ?? constraints;
};

const NO_MEMBERSHIP: Membership = [];

const isScalar = (value: unknown): value is Scalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

class EventIndex {
  private readonly leaves = new Map<string, Leaf[]>();
  private arrayCount = 0;

  constructor(
    event: Record<string, unknown>,
    private readonly leafPaths: ReadonlySet<string>,
    private readonly pathPrefixes: ReadonlySet<string>,
  ) {
    this.visitObject(event, undefined, NO_MEMBERSHIP);
  }

  get(path: string): readonly Leaf[] | undefined {
    return this.leaves.get(path);
  }

  private visitObject(
    object: Record<string, unknown>,
    path: string | undefined,
    membership: Membership,
  ): void {
    for (const key of Object.keys(object)) {
      const childPath = joinPath(path, key);
      if (this.pathPrefixes.has(childPath)) this.visit(object[key], childPath, membership);
    }
  }

  private visit(node: unknown, path: string, membership: Membership): void {
    if (isScalar(node)) {
      if (!this.leafPaths.has(path)) return;
      const leaf = { value: node, membership };
      const existing = this.leaves.get(path);
      if (existing) existing.push(leaf);
      else this.leaves.set(path, [leaf]);
    } else if (Array.isArray(node)) {
      const arrayId = this.arrayCount++;
      node.forEach((element: unknown, index) => {
        const nested = typeof element === 'object' && element !== null;
        this.visit(element, path, nested ? [...membership, arrayId, index] : membership);
      });
    } else if (isObject(node)) {
      this.visitObject(node, path, membership);
    }
  }
}

const matchBranch = (branch: Branch, index: EventIndex, field: number, constraints: Membership): boolean => {
  const rule = branch[field];
  if (rule === undefined) return true;
  let consistentValueSeen = false;
  for (const leaf of index.get(rule.path) ?? []) {
    const merged = mergeMembership(constraints, leaf.membership);
    if (merged === undefined) continue;
    consistentValueSeen = true;
    if (rule.spec.test(leaf.value) && matchBranch(branch, index, field + 1, merged)) return true;
  }
  return (
    rule.spec.allowsAbsence && !consistentValueSeen && matchBranch(branch, index, field + 1, constraints)
  );
};

const pathPrefixesOf = (path: string): string[] => {
  const prefixes: string[] = [];
  let end = path.indexOf('.');
  while (end >= 0) {
    prefixes.push(path.slice(0, end));
    end = path.indexOf('.', end + 1);
  }
  prefixes.push(path);
  return prefixes;
};

/**
 * Validates a pattern, given as JSON text or as an object, the way PutRule does and compiles it for matching on
 * every event put to a bus. Throws {@link InvalidEventPatternError} with AWS's reason when EventBridge would refuse
 * it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html).
 */
export function compilePattern(pattern: string | EventPattern): CompiledPattern {
  const parsed = parsePattern(pattern);
  if (!isObject(parsed)) return fail('Filter is not an object');
  const rules: SubRule[] = [];
  compileObject(rules, undefined, parsed, false);
  const branches: Branch[] = rules.map((rule) =>
    [...rule.entries()]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([path, spec]) => ({ path, spec })),
  );
  const leafPaths = new Set(branches.flatMap((branch) => branch.map((rule) => rule.path)));
  const pathPrefixes = new Set([...leafPaths].flatMap(pathPrefixesOf));
  return {
    source: parsed,
    matches(event: unknown): boolean {
      if (!isObject(event)) return false;
      const index = new EventIndex(event, leafPaths, pathPrefixes);
      return branches.some((branch) => matchBranch(branch, index, 0, NO_MEMBERSHIP));
    },
  };
}

/**
 * Validates a pattern and matches one event against it, which is what the TestEventPattern API answers
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html).
 */
export function testEventPattern(pattern: string | EventPattern, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}
