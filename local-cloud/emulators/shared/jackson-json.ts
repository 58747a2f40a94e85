/**
 * JSON parse errors worded as AWS's Java services word them. EventBridge (event patterns) and SNS
 * (filter and redrive policies) parse JSON with Jackson and put its message in their answer, e.g.
 * `Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true'
 * or 'false')\n at [Source: (String)"this is not json"; line: 1, column: 5]`. Node's `JSON.parse`
 * words the same mistakes differently, so this module finds the first mistake itself and words it
 * as Jackson's `ReaderBasedJsonParser` does (https://github.com/FasterXML/jackson-core). The
 * wordings and columns are held to answers recorded on AWS (LocalStack's
 * `test_events_patterns.snapshot.json` and `test_sns.snapshot.json`).
 */

/**
 * How the service shows the parsed text in the location: EventBridge includes it
 * (`(String)"…"`), SNS redacts it.
 */
export type JacksonSource = 'included' | 'redacted';

/** Thrown by {@link parseJsonAsJackson}; `message` is Jackson's, location included. */
export class JacksonParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JacksonParseError';
  }
}

const EXPECTED_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";
/** Jackson shows at most this much of the source in a location (`ErrorReportConfiguration`). */
const MAX_SOURCE_SHOWN = 500;

const sourceOf = (text: string, source: JacksonSource): string => {
  if (source === 'redacted') return 'REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)';
  const shown = text.length > MAX_SOURCE_SHOWN ? text.slice(0, MAX_SOURCE_SHOWN) : text;
  const truncated =
    text.length > MAX_SOURCE_SHOWN ? `[truncated ${text.length - MAX_SOURCE_SHOWN} chars]` : '';
  return `(String)"${shown}"${truncated}`;
};

/** Jackson's way of naming a character: `'x' (code 120)`, or a control character by its code. */
const charName = (char: string): string => {
  const code = char.codePointAt(0) ?? 0;
  return code < 32 ? `(CTRL-CHAR, code ${code})` : `'${char}' (code ${code})`;
};

const isIdentifierPart = (char: string | undefined): boolean =>
  char !== undefined && /[\p{L}\p{N}_$]/u.test(char);

/**
 * A mistake, located at `index`: Jackson's column is the 1-based position of the character it
 * stopped at (the offending one, or the one after an unrecognized token).
 */
class Mistake {
  startMarker?: number;
  constructor(
    readonly problem: string,
    readonly index: number,
  ) {}
}

/** Finds the first mistake the way Jackson reads: value by value, left to right. */
class Reader {
  i = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i] ?? '')) this.i++;
  }

  endOfInput(what: string): Mistake {
    return new Mistake(`Unexpected end-of-input${what}`, this.text.length);
  }

  value(): void {
    this.skipSpace();
    const char = this.text[this.i];
    if (char === undefined) throw this.endOfInput(`: expected a value ${EXPECTED_VALUE}`);
    if (char === '{') this.object();
    else if (char === '[') this.array();
    else if (char === '"') this.string();
    else if (char === '-' || (char >= '0' && char <= '9')) this.number();
    else if (isIdentifierPart(char)) this.token();
    else
      throw new Mistake(
        `Unexpected character (${charName(char)}): expected a valid value ${EXPECTED_VALUE}`,
        this.i,
      );
  }

  token(): void {
    const start = this.i;
    while (isIdentifierPart(this.text[this.i])) this.i++;
    const token = this.text.slice(start, this.i);
    if (token === 'true' || token === 'false' || token === 'null') return;
    throw new Mistake(`Unrecognized token '${token}': was expecting ${EXPECTED_VALUE}`, this.i);
  }

  number(): void {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i));
    if (!match) {
      const next = this.text[this.i + 1];
      throw next === undefined
        ? this.endOfInput(' in a Number value')
        : new Mistake(
            `Unexpected character (${charName(next)}) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value`,
            this.i + 1,
          );
    }
    this.i += match[0].length;
    const next = this.text[this.i];
    if (match[1] === '0' && next !== undefined && next >= '0' && next <= '9')
      throw new Mistake('Invalid numeric value: Leading zeroes not allowed', this.i);
  }

  string(): void {
    this.i++;
    while (this.i < this.text.length) {
      const char = this.text[this.i] ?? '';
      if (char === '"') {
        this.i++;
        return;
      }
      if (char === '\\') {
        const escaped = this.text[this.i + 1];
        if (escaped === undefined) break;
        if (!'"\\/bfnrtu'.includes(escaped))
          throw new Mistake(`Unrecognized character escape ${charName(escaped)}`, this.i + 1);
        this.i += 2;
        continue;
      }
      if (char.charCodeAt(0) < 32)
        throw new Mistake(
          `Illegal unquoted character (${charName(char)}): has to be escaped using backslash to be included in string value`,
          this.i,
        );
      this.i++;
    }
    throw this.endOfInput(': was expecting closing quote for a string value');
  }

  object(): void {
    this.container('Object', '}', (start) => {
      this.skipSpace();
      const char = this.text[this.i];
      if (char === undefined) throw this.unclosed('Object', start);
      if (char !== '"')
        throw new Mistake(
          `Unexpected character (${charName(char)}): was expecting double-quote to start field name`,
          this.i,
        );
      this.string();
      this.skipSpace();
      const colon = this.text[this.i];
      if (colon === undefined) throw this.unclosed('Object', start);
      if (colon !== ':')
        throw new Mistake(
          `Unexpected character (${charName(colon)}): was expecting a colon to separate field name and value`,
          this.i,
        );
      this.i++;
      this.value();
    });
  }

  array(): void {
    this.container('Array', ']', () => this.value());
  }

  /** An object or an array from its opening bracket: its entries, each read by `entry`, separated by commas up to `close`. */
  container(kind: 'Object' | 'Array', close: '}' | ']', entry: (start: number) => void): void {
    const start = this.i;
    this.i++;
    this.skipSpace();
    if (this.text[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      entry(start);
      this.skipSpace();
      const next = this.text[this.i];
      if (next === undefined) throw this.unclosed(kind, start);
      this.i++;
      if (next === close) return;
      if (next !== ',')
        throw new Mistake(
          `Unexpected character (${charName(next)}): was expecting comma to separate ${kind} entries`,
          this.i - 1,
        );
    }
  }

  unclosed(kind: 'Object' | 'Array', start: number): Mistake {
    const mistake = this.endOfInput(`: expected close marker for ${kind}`);
    mistake.startMarker = start;
    return mistake;
  }
}

/** Line and column (1-based) of an index, counting lines as Jackson does. */
const position = (text: string, index: number): { line: number; column: number } => {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - (before.lastIndexOf('\n') + 1) + 1 };
};

const locate = (text: string, index: number, source: string): string => {
  const { line, column } = position(text, index);
  return `[Source: ${source}; line: ${line}, column: ${column}]`;
};

/**
 * Jackson's message for the first mistake in `text`, or undefined when it is valid JSON. An
 * empty text is Jackson's "No content to map due to end-of-input".
 */
export const jacksonParseError = (text: string, source: JacksonSource): string | undefined => {
  const shown = sourceOf(text, source);
  if (text.trim() === '')
    return `No content to map due to end-of-input\n at [Source: ${shown}; line: 1, column: 0]`;
  const reader = new Reader(text);
  try {
    reader.value();
    reader.skipSpace();
    const trailing = reader.text[reader.i];
    if (trailing === undefined) return undefined;
    throw new Mistake(`Unexpected character (${charName(trailing)}): expected end-of-input`, reader.i);
  } catch (error) {
    if (!(error instanceof Mistake)) throw error;
    const marker =
      error.startMarker === undefined ? '' : ` (start marker at ${locate(text, error.startMarker, shown)})`;
    return `${error.problem}${marker}\n at ${locate(text, error.index, shown)}`;
  }
};

/**
 * Parses JSON as `JSON.parse` does, but fails with Jackson's wording ({@link JacksonParseError}),
 * so that a service can answer malformed JSON as AWS does.
 */
export const parseJsonAsJackson = (text: string, source: JacksonSource): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new JacksonParseError(
      jacksonParseError(text, source) ?? `Unexpected character: expected a valid value ${EXPECTED_VALUE}`,
    );
  }
};
