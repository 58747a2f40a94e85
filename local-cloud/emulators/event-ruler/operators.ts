/**
 * The value-level pieces of aws/event-ruler (https://github.com/aws/event-ruler), the matching language that
 * EventBridge event patterns and SNS filter policies share: numbers as event-ruler compares them, IP literals and
 * CIDR ranges, wildcards and their complexity, and equals-ignore-case folding. Refusals throw
 * {@link RuleSyntaxError} with event-ruler's reason; each front end wraps it in its service's error.
 */

/**
 * A pattern or policy event-ruler refuses. `message` is event-ruler's reason, without the wrapping each service adds
 * (`Event pattern is not valid. Reason: …`, `Invalid parameter: FilterPolicy: …`).
 */
export class RuleSyntaxError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = new.target.name;
  }
}

export type Scalar = string | number | boolean | null;
export type ValueTest = (value: Scalar) => boolean;

export function fail(reason: string): never {
  throw new RuleSyntaxError(reason);
}

/**
 * Numbers compare with the range and precision event-ruler gives them (ComparableNumber): -5.0e9 to 5.0e9, six
 * digits right of the decimal point.
 */
export const NUMBER_LIMIT = 5e9;
const NUMBER_OUT_OF_RANGE = 'Value must be between -5.0E9 and 5.0E9, inclusive';

/** The most wildcard-pattern prefixes one value may keep alive at once before AWS calls a rule too complex. */
export const MAX_WILDCARD_COMPLEXITY = 10;
const MAX_COMPLEXITY_STATES = 5000;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const isComparable = (value: number): boolean => value >= -NUMBER_LIMIT && value <= NUMBER_LIMIT;

export const comparableKey = (value: number): number => Math.trunc(1e6 * (NUMBER_LIMIT + value));

export const requireComparable = (value: number): number =>
  isComparable(value) ? comparableKey(value) : fail(NUMBER_OUT_OF_RANGE);

export const tokenText = (value: unknown): string => {
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

export const ipHex = (text: string): string | undefined => {
  const bytes = parseIp(text);
  return bytes ? toHex(bytes) : undefined;
};

const JAVA_INT = /^[+-]?[0-9]+$/;

export const compileCidr = (cidr: string): ValueTest => {
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

export interface WildcardTokens {
  /** UTF-8 bytes of the quoted pattern as event-ruler sees it; -1 is a wildcard. */
  readonly bytes: readonly number[];
}

interface ParsedWildcard {
  readonly segments: readonly string[];
  readonly tokens: WildcardTokens;
}

const WILDCARD_BYTE = -1;

export const parseWildcard = (pattern: string): ParsedWildcard => {
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

export const wildcardMatches = (segments: readonly string[], value: string): boolean => {
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

export const compileWildcard = (pattern: string, wildcards: WildcardTokens[]): ValueTest => {
  const { segments, tokens } = parseWildcard(pattern);
  wildcards.push(tokens);
  return (value) => typeof value === 'string' && wildcardMatches(segments, value);
};

/**
 * The largest number of wildcard-pattern prefixes a single value can keep alive at once, which is how event-ruler
 * measures a rule's wildcard complexity (MachineComplexityEvaluator), explored over the patterns' joint automaton.
 */
export const wildcardComplexity = (patterns: readonly WildcardTokens[]): number => {
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

export const caseAlternatives = (text: string): CaseAlternatives =>
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

export const foldedEquals = (value: string, alternatives: CaseAlternatives): boolean =>
  foldedPrefixEnds(value, alternatives).includes(value.length);

export const foldedPrefix = (value: string, alternatives: CaseAlternatives): boolean =>
  foldedPrefixEnds(value, alternatives).length > 0;

export const foldedSuffix = (value: string, alternatives: CaseAlternatives): boolean => {
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
