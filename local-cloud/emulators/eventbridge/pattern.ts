/**
 * The local EventBridge's event patterns: validation and matching with the semantics AWS documents
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
 * which EventBridge implements with aws/event-ruler. Where the documentation is silent, event-ruler's
 * behaviour and the answers AWS gives to TestEventPattern decide. The matching itself is the shared event-ruler
 * module's; this front end adds EventBridge's dialect (every match type, `anything-but` over lists of prefixes,
 * suffixes, wildcards and case-folded values) and its error shape. A wildcard field whose patterns keep more than
 * ten prefixes alive at once is "too complex".
 */

import { matcherOf } from '../event-ruler/match.ts';
import { isObject, RuleSyntaxError } from '../event-ruler/operators.ts';
import { compileRule, expandRule, type RuleDialect } from '../event-ruler/rule.ts';
import { JacksonParseError, parseJsonAsJackson } from '../shared/jackson-json.ts';

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

const EVENT_PATTERNS: RuleDialect = {
  matchTypes: new Set([
    'exactly',
    'prefix',
    'suffix',
    'numeric',
    'anything-but',
    'exists',
    'cidr',
    'equals-ignore-case',
    'wildcard',
  ]),
  anythingButKinds: ['equals-ignore-case', 'prefix', 'suffix', 'wildcard'],
  anythingButOfList: true,
  affixIgnoreCase: true,
};

/** Malformed JSON is refused with the wording of EventBridge's JSON parser (Jackson), source included. */
const parsePattern = (pattern: string | EventPattern): unknown => {
  try {
    // An object is copied, so later changes to it leave the compiled pattern as it was.
    return parseJsonAsJackson(typeof pattern === 'string' ? pattern : JSON.stringify(pattern), 'included');
  } catch (error) {
    if (error instanceof JacksonParseError)
      throw new InvalidEventPatternError(error.message, { cause: error });
    throw error;
  }
};

/**
 * Validates a pattern, given as JSON text or as an object, the way PutRule does and compiles it for matching on
 * every event put to a bus. Throws {@link InvalidEventPatternError} with AWS's reason when EventBridge would refuse
 * it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html).
 */
export function compilePattern(pattern: string | EventPattern): CompiledPattern {
  const parsed = parsePattern(pattern);
  if (!isObject(parsed)) throw new InvalidEventPatternError('Filter is not an object');
  try {
    const matches = matcherOf(expandRule(compileRule(parsed, [], EVENT_PATTERNS)) ?? []);
    return { source: parsed, matches: (event) => isObject(event) && matches(event) };
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new InvalidEventPatternError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Validates a pattern and matches one event against it, which is what the TestEventPattern API answers
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html).
 */
export function testEventPattern(pattern: string | EventPattern, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}
