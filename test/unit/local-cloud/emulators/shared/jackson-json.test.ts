import { describe, expect, it } from 'vitest';
import {
  JacksonParseError,
  jacksonParseError,
  parseJsonAsJackson,
} from '../../../../../local-cloud/emulators/shared/jackson-json.ts';
import recorded from '../../../../fixtures/aws-answers/localstack-events.json' with { type: 'json' };

const REASON = 'Event pattern is not valid. Reason: ';

describe('jacksonParseError', () => {
  // Recorded on AWS: EventBridge puts Jackson's message, source included, after its own reason prefix.
  it.each([
    ['pattern-not-json', 'this is valid json but not a dict'],
    ['pattern-single-quotes', "{'bad': 'quotation'}"],
    ['pattern-unquoted-token', '{"not": closed mark"'],
  ] as const)('words %s as AWS recorded it', (name, text) => {
    // Act
    const message = jacksonParseError(text, 'included');

    // Assess
    expect(`${REASON}${message}`).toBe(recorded.answers[name].answer.Error.Message);
  });

  // Recorded on AWS by SNS (LocalStack's test_sns.snapshot.json), which redacts the source.
  it.each([
    [
      '{invalid',
      "Unexpected character ('i' (code 105)): was expecting double-quote to start field name\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 2]",
    ],
    [
      'invalid',
      "Unrecognized token 'invalid': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 8]",
    ],
  ])('words %j with a redacted source as SNS does', (text, expected) => {
    expect(jacksonParseError(text, 'redacted')).toBe(expected);
  });

  // Not recorded: worded after Jackson's ReaderBasedJsonParser.
  it.each([
    [
      '{"a" 1}',
      "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value",
    ],
    ['[1 2]', "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries"],
    [
      '{"a":1 "b":2}',
      "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries",
    ],
    ['{"a":01}', 'Invalid numeric value: Leading zeroes not allowed'],
    ['{"a":"\\x"}', "Unrecognized character escape 'x' (code 120)"],
    ['{"a":1', 'Unexpected end-of-input: expected close marker for Object (start marker at'],
    ['"a\nb"', 'Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped'],
  ])('names the first mistake in %j', (text, start) => {
    expect(jacksonParseError(text, 'included')?.startsWith(start)).toBe(true);
  });

  it('counts lines and columns from the start of the line', () => {
    expect(jacksonParseError('{\n  "a": nope\n}', 'included')).toMatch(/line: 2, column: 12\]$/);
  });

  it('has nothing to say about valid JSON', () => {
    expect(jacksonParseError('{"a":[1,-2.5e3,"x",true,null,{}]}', 'included')).toBeUndefined();
  });
});

describe('parseJsonAsJackson', () => {
  it('parses valid JSON and throws JacksonParseError with the wording otherwise', () => {
    expect(parseJsonAsJackson('{"a":1}', 'redacted')).toEqual({ a: 1 });
    expect(() => parseJsonAsJackson("{'a':1}", 'redacted')).toThrow(JacksonParseError);
    expect(() => parseJsonAsJackson("{'a':1}", 'redacted')).toThrow(/was expecting double-quote/);
  });
});
