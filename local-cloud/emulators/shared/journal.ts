/**
 * A small durable journal of pending work, for emulators that must not lose what they accepted when
 * the process dies: an append-only JSON Lines file of `put` records (work accepted, or its progress)
 * and `done` records (work finished), written synchronously before the caller is answered.
 *
 * Durability: every write is one `write(2)` call that has returned before `put`/`done` returns, so a
 * record survives the death of this process, SIGKILL included. It reaches the operating system, not
 * the disk: a kernel crash or power loss can lose the last records unless `fsync` is set (which
 * calls `fsync(2)` after every write and costs a disk flush each time).
 *
 * Memory: the journal keeps only the ids of live work and where their records lie in the file, never
 * the values; recovery hands the values to the caller once, and compaction copies live records from
 * the file itself. So a caller may keep only a window of its pending work in memory and read the
 * rest back from the file later ({@link Journal.read}). Without a file the values stay in memory.
 *
 * Generic on purpose: nothing here knows what the work is.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';

export interface JournalOptions<T> {
  /** The JSON Lines file; when absent the journal is in memory and nothing outlives the process. */
  readonly file?: string;
  /** Validates a recovered value; throws when the value is not one the caller wrote. */
  readonly decode: (value: unknown) => T;
  /** Compact once more than this many records are done or superseded, and they outnumber live ones. */
  readonly compactAfter?: number;
  /** fsync(2) after every write, so records also survive a power loss; off by default. */
  readonly fsync?: boolean;
}

export interface JournalEntry<T> {
  readonly id: string;
  readonly value: T;
}

/** A journal file that a crash cannot have produced: a complete line that is not a record. */
export class JournalCorruptError extends Error {
  constructor(file: string, line: number, reason: string, options?: { cause?: unknown }) {
    super(`${file} line ${line}: ${reason}; move the file away to start without its pending work`, options);
    this.name = 'JournalCorruptError';
  }
}

const DEFAULT_COMPACT_AFTER = 1024;

/** Where a record lies in the file: its first byte and its length without the newline. */
interface Span {
  readonly start: number;
  readonly length: number;
}

type JournalRecord = { readonly put: string; readonly value: unknown } | { readonly done: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The id of a line this journal wrote, read from its start without parsing the value. */
const RECORD_START = /^\{"(put|done)":("(?:[^"\\]|\\.)*")/;

/** One complete line as a record, or the reason it is not one. */
const parseRecord = (line: string): JournalRecord | string => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (!isObject(parsed)) return 'not a JSON object';
  if (typeof parsed.put === 'string' && 'value' in parsed) return { put: parsed.put, value: parsed.value };
  if (typeof parsed.done === 'string') return { done: parsed.done };
  return 'neither a put nor a done record';
};

const putLine = (id: string, value: unknown) => `${JSON.stringify({ put: id, value })}\n`;
const doneLine = (id: string) => `${JSON.stringify({ done: id })}\n`;

/**
 * Reads a journal file: the last `put` of every id without a later `done`, oldest first. A last line
 * without its newline is a write the process did not finish (it was killed mid-write) and is ignored;
 * any other unreadable line is corruption.
 */
const readLive = (file: string): Map<string, { line: string; number: number }> => {
  const live = new Map<string, { line: string; number: number }>();
  if (!existsSync(file)) return live;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the final newline, or a torn write
  lines.forEach((line, index) => {
    if (line === '') return;
    const start = RECORD_START.exec(line);
    if (!start?.[2]) throw new JournalCorruptError(file, index + 1, 'not a journal record');
    const id = String(JSON.parse(start[2]));
    live.delete(id); // a later put moves the work to the end, in the order it was last touched
    if (start[1] === 'put') live.set(id, { line, number: index + 1 });
  });
  return live;
};

/**
 * The journal. Open it once at start: it reads what a previous run left pending ({@link recovered}),
 * rewrites the file with only that (dropping a torn last line), then appends.
 */
export class Journal<T> {
  readonly #file: string | undefined;
  readonly #compactAfter: number;
  readonly #fsync: boolean;
  readonly #decode: (value: unknown) => T;
  /** Every live id, in the order its work was first put, with where its latest put lies in the file. */
  readonly #live = new Map<string, Span | undefined>();
  /** The values of an in-memory journal (no file), which {@link read} answers from. */
  readonly #values = new Map<string, T>();
  readonly #recovered: JournalEntry<T>[] = [];
  #fd: number | undefined;
  #bytes = 0;
  #dead = 0;
  /** Done records not yet written: they go out together at the end of this turn of the event loop. */
  #doneLines: string[] = [];
  #doneFlush: NodeJS.Immediate | undefined;

  constructor(options: JournalOptions<T>) {
    this.#file = options.file;
    this.#compactAfter = options.compactAfter ?? DEFAULT_COMPACT_AFTER;
    this.#fsync = options.fsync ?? false;
    this.#decode = options.decode;
    const { file } = options;
    if (!file) return;
    const live = readLive(file);
    for (const [id, { line, number }] of live) {
      const record = parseRecord(line);
      if (typeof record === 'string') throw new JournalCorruptError(file, number, record);
      if (!('put' in record)) continue;
      try {
        this.#recovered.push({ id, value: options.decode(record.value) });
      } catch (error) {
        throw new JournalCorruptError(file, number, 'a value the journal owner refuses', { cause: error });
      }
      this.#live.set(id, undefined);
    }
    this.#rewrite([...live].map(([id, { line }]) => ({ id, line })));
  }

  /** What a previous run left pending, oldest first (the same list every call; the caller resumes it). */
  recovered(): readonly JournalEntry<T>[] {
    return this.#recovered;
  }

  /** Whether what is journaled outlives this process (there is a file). */
  get persistent(): boolean {
    return this.#file !== undefined;
  }

  /** How many pieces of work are pending. */
  get size(): number {
    return this.#live.size;
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** The ids of the pending work, in the order it was first put. */
  ids(): IterableIterator<string> {
    return this.#live.keys();
  }

  /**
   * The latest value put for `id`, read back from the file (or memory), or undefined when the work
   * is done: what lets an owner keep only a window of its pending work in memory.
   */
  read(id: string): T | undefined {
    if (!this.#live.has(id)) return undefined;
    const span = this.#live.get(id);
    if (!this.#file || span === undefined) return this.#values.get(id);
    const fd = openSync(this.#file, 'r');
    try {
      const buffer = Buffer.alloc(span.length);
      readSync(fd, buffer, 0, span.length, span.start);
      const record = parseRecord(buffer.toString('utf8'));
      if (typeof record === 'string' || !('put' in record)) {
        throw new JournalCorruptError(
          this.#file,
          0,
          `the record of ${id} at byte ${span.start} is ${record}`,
        );
      }
      return this.#decode(record.value);
    } finally {
      closeSync(fd);
    }
  }

  /** Records work as pending, or its new state (a later put of the same id replaces the earlier one). */
  put(id: string, value: T): void {
    this.putAll([{ id, value }]);
  }

  /** Records several pieces of work with one write: all of them, or (when the write fails) none. */
  putAll(entries: readonly JournalEntry<T>[]): void {
    if (entries.length === 0) return;
    const spans = new Map<string, Span>();
    if (this.#file) {
      const done = this.#doneLines.join('');
      this.#doneLines = [];
      const lines = entries.map(({ id, value }) => ({ id, line: putLine(id, value) }));
      let start = this.#bytes + Buffer.byteLength(done);
      for (const { id, line } of lines) {
        const length = Buffer.byteLength(line);
        spans.set(id, { start, length: length - 1 });
        start += length;
      }
      this.#append(done + lines.map(({ line }) => line).join(''));
    } else {
      for (const { id, value } of entries) this.#values.set(id, value);
    }
    for (const { id } of entries) {
      if (this.#live.has(id)) this.#dead++;
      this.#live.set(id, spans.get(id));
    }
    this.#maybeCompact();
  }

  /**
   * Records work as finished; it will not be recovered. Unknown ids are ignored. Done records of
   * one turn of the event loop are written together at its end (or with the next put, whichever is
   * first): a process killed before then does that work again, which at-least-once work allows,
   * and never loses any.
   */
  done(id: string): void {
    if (!this.#live.has(id)) return;
    this.#live.delete(id);
    this.#values.delete(id);
    this.#dead += 2; // the done record and the put it cancels
    if (!this.#file || this.#fd === undefined) return;
    this.#doneLines.push(doneLine(id));
    this.#doneFlush ??= setImmediate(() => {
      this.#doneFlush = undefined;
      this.#flushDone();
      this.#maybeCompact();
    });
  }

  /** Writes what is still buffered and closes the file; later writes are ignored (that work is redone after the next open). */
  close(): void {
    this.#flushDone();
    if (this.#doneFlush) clearImmediate(this.#doneFlush);
    this.#doneFlush = undefined;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #flushDone(): void {
    if (this.#doneLines.length === 0) return;
    const text = this.#doneLines.join('');
    this.#doneLines = [];
    this.#append(text);
  }

  /** One write(2); on failure the file is cut back so a half-written record never precedes the next. */
  #append(text: string): void {
    if (!this.#file) return;
    if (this.#fd === undefined) return;
    const buffer = Buffer.from(text);
    try {
      let written = 0;
      while (written < buffer.length) written += writeSync(this.#fd, buffer, written);
      if (this.#fsync) fsyncSync(this.#fd);
    } catch (error) {
      ftruncateSync(this.#fd, this.#bytes);
      throw error;
    }
    this.#bytes += buffer.length;
  }

  #maybeCompact(): void {
    if (!this.#file || this.#fd === undefined) return;
    if (this.#dead <= this.#compactAfter || this.#dead <= this.#live.size) return;
    this.#flushDone();
    this.#rewrite([...readLive(this.#file)].map(([id, { line }]) => ({ id, line })));
  }

  /** Writes the live records to a new file, renames it over the journal, and appends to it from then on. */
  #rewrite(lines: readonly { id: string; line: string }[]): void {
    const file = this.#file;
    if (!file) return;
    let start = 0;
    for (const { id, line } of lines) {
      const length = Buffer.byteLength(line);
      if (this.#live.has(id)) this.#live.set(id, { start, length });
      start += length + 1;
    }
    const text = lines.map(({ line }) => `${line}\n`).join('');
    writeFileSync(`${file}.tmp`, text, { flush: this.#fsync });
    renameSync(`${file}.tmp`, file);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(file, 'a');
    this.#bytes = Buffer.byteLength(text);
    this.#dead = 0;
  }
}
