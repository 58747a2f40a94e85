/**
 * Lambda event source mappings for DynamoDB streams
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): each mapping reads its table's
 * stream in order and invokes its function with batches in AWS's DynamoDB event shape
 * (`Records[].dynamodb` with images in attribute-value form, `eventSourceARN`, ...), one batch at
 * a time per shard, so records reach the function in the order of the stream.
 *
 * A failed batch (the function threw, or the runtime ended it) is retried whole, or split in two
 * with `bisectBatchOnFunctionError` (a split does not count as a retry); with
 * `reportBatchItemFailures` the function may answer `{batchItemFailures: [{itemIdentifier}]}` and
 * only the records from the lowest failed sequence number on are retried
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). A batch
 * that used up `maximumRetryAttempts` is skipped, and its metadata (not its records) goes to the
 * on-failure destination in the shape Lambda sends
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
 *
 * With filters, a batch holds only matching records, and the position moves past the others as
 * it moves past a delivered batch (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).
 *
 * The position of each mapping is checkpointed in a journal after each batch is done with, so a
 * restart, even after SIGKILL, neither skips a record nor repeats more than the batch in flight
 * (at-least-once, as on AWS).
 */
import { z } from 'zod';
import { compileFilterCriteria, type FilterPattern } from '../lambda/filter-criteria.ts';
import { Journal } from '../shared/journal.ts';
import { partitionOf } from './partition-writes.ts';
import { RETENTION_MS, type StreamMeta, type StreamRecord, type StreamStore } from './streams.ts';

/** One mapping: a table's stream to a function, with Lambda's settings for stream sources. */
export interface StreamEventSourceMapping {
  readonly table: string;
  readonly functionName: string;
  /** The function's ARN, as the on-failure record names it. */
  readonly functionArn: string;
  /** 1..10,000 (Lambda's default 100). */
  readonly batchSize: number;
  /** How long to gather records before invoking with fewer than `batchSize`. */
  readonly maximumBatchingWindowSeconds: number;
  /** Retries of a failed batch before it is skipped; -1 retries until the records expire. */
  readonly maximumRetryAttempts: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** Lambda's `FunctionResponseTypes: ["ReportBatchItemFailures"]`. */
  readonly reportBatchItemFailures: boolean;
  /** Where skipped batches' metadata goes (a queue name); when absent they are only skipped. */
  readonly onFailure?: string;
  /**
   * Lambda's `FilterCriteria`: only records matching one of these patterns are delivered; the
   * others are passed over without an invocation (see `filter-criteria.ts`). Every record when absent.
   */
  readonly filters?: readonly FilterPattern[];
}

export interface StreamEventSourceOptions {
  readonly streams: StreamStore;
  readonly mappings: readonly StreamEventSourceMapping[];
  readonly invoke: (functionName: string, event: unknown) => Promise<unknown>;
  /** The journal of each mapping's position; in memory when absent. */
  readonly checkpointFile?: string;
  /**
   * Sends an on-failure record to its destination, an SQS queue by name (as Lambda's `SqsDlq`
   * destination does); throws when the queue is missing. Records are only skipped when absent.
   */
  readonly sendToQueue?: (queue: string, body: string) => void;
  /** First delay between retries of a failed batch (doubling after, up to a minute). */
  readonly retryBaseDelayMs?: number;
  /**
   * How a mapping without a batching window gathers the writes of one request ({@link WRITES_SETTLE}
   * when absent); a measurement of per-upload units widens it, so that a loaded machine's slow
   * puts do not split an upload into batches that AWS's poll would have read as one.
   */
  readonly writesSettle?: WritesSettle;
  /** Told when a mapping cannot run (its table has no stream) or a batch is skipped. */
  readonly onError?: (message: string) => void;
}

/**
 * A mapping's position: the records it is done with, and, while a batch is being delivered, the
 * last record read into it, so a restart delivers that same batch again (the same records, not a
 * larger batch read afresh): a consumer that derives ids from a batch's records then repeats them.
 */
const Checkpoint = z.object({
  streamArn: z.string(),
  sequenceNumber: z.string(),
  inFlightThrough: z.optional(z.string()),
});
type Checkpoint = z.infer<typeof Checkpoint>;

/** What Lambda sends the on-failure destination for a skipped batch. */
export const StreamBatchFailure = z.object({
  requestContext: z.object({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.literal('RetryAttemptsExhausted'),
    approximateInvokeCount: z.number(),
  }),
  responseContext: z.object({
    statusCode: z.number(),
    executedVersion: z.literal('$LATEST'),
    functionError: z.enum(['Unhandled', 'Handled']),
  }),
  version: z.literal('1.0'),
  timestamp: z.string(),
  DDBStreamBatchInfo: z.object({
    shardId: z.string(),
    startSequenceNumber: z.string(),
    endSequenceNumber: z.string(),
    approximateArrivalOfFirstRecord: z.string(),
    approximateArrivalOfLastRecord: z.string(),
    batchSize: z.number(),
    streamArn: z.string(),
  }),
});
export type StreamBatchFailure = z.infer<typeof StreamBatchFailure>;

const BatchItemFailures = z.object({
  batchItemFailures: z.array(z.object({ itemIdentifier: z.unknown() })),
});

/** How one invocation went: done, or failed from the record at `from` on. */
type Outcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly from: number; readonly handled: boolean };

/** The record as a Lambda DynamoDB event carries it (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-dynamodb-event-example). */
const eventRecord = (record: StreamRecord, streamArn: string) => ({
  eventID: record.eventID,
  eventName: record.eventName,
  eventVersion: record.eventVersion,
  eventSource: record.eventSource,
  awsRegion: record.awsRegion,
  dynamodb: record.dynamodb,
  eventSourceARN: streamArn,
  ...(record.userIdentity
    ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } }
    : {}),
});

/**
 * Without a batching window, a mapping wakes on a write instead of polling (AWS polls each shard
 * about four times a second, so a record waits 125 ms on average there), then reads once the
 * partitions of the records it found have no write in flight and none ended for `quietMs` (at most
 * `maxMs` after the first): the conditional writes of one upload (one device's partition) are
 * then one batch, as AWS's poll would mostly gather them. An upload's parallel writes are in
 * flight together; the quiet period covers the sequential ones (an hour item created, then a
 * reading item put) and the spread of parallel writes' arrival. Other partitions' writes do not
 * hold a batch: under load they never pause, and a settle on every write made each batch wait
 * the full `maxMs`.
 */
const WRITES_SETTLE: WritesSettle = { quietMs: 10, maxMs: 150 };

/** A pause in writes after which a mapping without a window reads, and the longest it gathers. */
export interface WritesSettle {
  /** How long after the last write to a batch's partitions ended (none in flight) it waits for another. */
  readonly quietMs: number;
  readonly maxMs: number;
}

/** The partitions of a stream's records (see `partition-writes.ts`). */
const partitionsOf = (records: readonly StreamRecord[], stream: StreamMeta): Set<string> =>
  new Set(records.map((record) => partitionOf(stream.table, record.dynamodb.Keys, stream.keySchema)));

/** Whether a record has left the stream (24 hours after it was written): a -1 mapping then gives up on it. */
const pastRetention = (record: StreamRecord | undefined, now: number): boolean =>
  record !== undefined && record.dynamodb.ApproximateCreationDateTime * 1000 + RETENTION_MS <= now;

const checkpointId = (mapping: StreamEventSourceMapping) => `${mapping.table}:${mapping.functionName}`;

export class StreamEventSource {
  readonly #options: StreamEventSourceOptions;
  readonly #journal: Journal<Checkpoint>;
  readonly #loops: Promise<void>[] = [];
  readonly #wakers = new Set<() => void>();
  /** Each mapping's stream and the sequence number it has consumed through, while it polls. */
  readonly #positions = new Map<string, { functionName: string; streamArn: string; after: string }>();
  /** The functions whose mappings are disabled (Lambda's `UpdateEventSourceMapping` with `Enabled: false`). */
  readonly #disabled = new Set<string>();
  /** Each mapping's filters, compiled once; none for a mapping without filters. */
  readonly #filters: ReadonlyMap<StreamEventSourceMapping, ((record: unknown) => boolean) | undefined>;
  #running = false;
  #unsubscribe = () => {};

  /** Throws `InvalidFilterCriteriaError` for a mapping whose filters Lambda would refuse. */
  constructor(options: StreamEventSourceOptions) {
    this.#options = options;
    this.#filters = new Map(
      options.mappings.map((mapping) => [mapping, compileFilterCriteria(mapping.filters)]),
    );
    this.#journal = new Journal({
      ...(options.checkpointFile ? { file: options.checkpointFile } : {}),
      decode: (value) => Checkpoint.parse(value),
    });
  }

  /** Starts polling every mapping's stream. */
  start(): void {
    this.#running = true;
    const unsubscribeAppends = this.#options.streams.onAppend(() => this.#wake());
    const unsubscribeWrites = this.#options.streams.partitionWrites.onEnd(() => this.#wake());
    this.#unsubscribe = () => {
      unsubscribeAppends();
      unsubscribeWrites();
    };
    for (const mapping of this.#options.mappings) this.#loops.push(this.#poll(mapping));
  }

  /**
   * Whether every enabled mapping has consumed every record of its stream (none waiting in a
   * batching window, none being delivered or retried): what a measurement waits for before it
   * reads the units the consumers spent.
   */
  idle(): boolean {
    for (const { functionName, streamArn, after } of this.#positions.values()) {
      if (this.#disabled.has(functionName)) continue;
      if (this.#options.streams.recordsAfter(streamArn, after, 1).length > 0) return false;
    }
    return true;
  }

  /**
   * Enables or disables a function's mappings, as Lambda's `UpdateEventSourceMapping` with
   * `Enabled` does (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html):
   * a disabled mapping finishes the batch it is delivering and reads no more; its records stay in
   * the stream, and once enabled again it goes on from its checkpoint.
   */
  setEnabled(functionName: string, enabled: boolean): void {
    if (enabled) this.#disabled.delete(functionName);
    else this.#disabled.add(functionName);
    this.#wake();
  }

  /** Stops after the batches in flight; their checkpoints are kept, the rest resumes at the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe();
    this.#wake();
    await Promise.all(this.#loops);
    this.#journal.close();
  }

  #wake(): void {
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  /** Resolves true at the next append, end of a write in flight, or stop; false after `ms`. */
  #nextAppend(ms = Number.POSITIVE_INFINITY): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => resolve(false), ms) : undefined;
      this.#wakers.add(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async #poll(mapping: StreamEventSourceMapping): Promise<void> {
    const { streams } = this.#options;
    const stream = streams.enabledStream(mapping.table);
    if (!stream) {
      this.#options.onError?.(
        `No stream on table ${mapping.table} for the event source of ${mapping.functionName}`,
      );
      return;
    }
    const id = checkpointId(mapping);
    const saved = this.#journal.recovered().find((entry) => entry.id === id)?.value;
    // A mapping starts at TRIM_HORIZON, so no record written before its first poll is missed.
    let after = saved?.streamArn === stream.arn ? saved.sequenceNumber : '0';
    let replayThrough = saved?.streamArn === stream.arn ? saved.inFlightThrough : undefined;
    this.#positions.set(id, { functionName: mapping.functionName, streamArn: stream.arn, after });
    const windowMs = mapping.maximumBatchingWindowSeconds * 1000;
    const read = this.#reader(mapping, stream.arn);
    while (this.#running) {
      if (this.#disabled.has(mapping.functionName)) {
        await this.#nextAppend();
        continue;
      }
      let batch = read(after, replayThrough);
      if (batch.records.length === 0) {
        if (batch.through !== after) {
          after = this.#advance(id, stream.arn, batch.through);
          continue;
        }
        await this.#nextAppend();
        continue;
      }
      const settle = this.#options.writesSettle ?? WRITES_SETTLE;
      const gathering = windowMs > 0 ? windowMs : settle.maxMs;
      const deadline = Date.now() + gathering;
      // The partitions whose writes the batch waits for: those of the records it was first read
      // with. Records of other partitions appended meanwhile join it, but their writes do not hold it.
      const held = windowMs > 0 ? undefined : partitionsOf(batch.records, stream);
      while (
        this.#running &&
        replayThrough === undefined &&
        batch.records.length < mapping.batchSize &&
        Date.now() < deadline
      ) {
        const left = deadline - Date.now();
        const wait = held ? streams.partitionWrites.waitFor(held, settle.quietMs) : left;
        if (wait <= 0) break;
        await this.#nextAppend(Math.min(wait, left));
        batch = read(after);
      }
      if (!this.#running) return;
      this.#journal.put(id, { streamArn: stream.arn, sequenceNumber: after, inFlightThrough: batch.through });
      const delivered = await this.#deliver(mapping, stream.arn, stream.shardId, batch.records);
      if (!delivered) return; // stopped mid-batch: it is delivered again after the next start
      replayThrough = undefined;
      after = this.#advance(id, stream.arn, batch.through);
    }
  }

  /** Checkpoints a mapping's position, durably, and answers it. */
  #advance(id: string, streamArn: string, after: string): string {
    this.#journal.put(id, { streamArn, sequenceNumber: after });
    const position = this.#positions.get(id);
    if (position) this.#positions.set(id, { ...position, after });
    return after;
  }

  /**
   * Reads the next batch of a mapping: up to `batchSize` records after a position that match its
   * filters (none past `until`, when given), and the sequence number the mapping has dealt with
   * once they are (the last record read, matching or not).
   */
  #reader(mapping: StreamEventSourceMapping, streamArn: string) {
    const { streams } = this.#options;
    const matches = this.#filters.get(mapping);
    // Records passed over by the filters are read a bounded number at a time, so a long run of
    // them does not hold the event loop; the position still moves past each run read.
    const scanLimit = mapping.batchSize * 10;
    return (after: string, until?: string): { records: StreamRecord[]; through: string } => {
      const records: StreamRecord[] = [];
      let through = after;
      let scanned = 0;
      const within = (record: StreamRecord) =>
        until === undefined || BigInt(record.dynamodb.SequenceNumber) <= BigInt(until);
      while (records.length < mapping.batchSize && scanned < scanLimit) {
        const page = streams
          .recordsAfter(streamArn, through, mapping.batchSize - records.length)
          .filter(within);
        const last = page.at(-1);
        if (!last) break;
        scanned += page.length;
        for (const record of page)
          if (!matches || matches(eventRecord(record, streamArn))) records.push(record);
        through = last.dynamodb.SequenceNumber;
      }
      return { records, through };
    };
  }

  /** Delivers a batch, retrying and bisecting as configured; false when stopped before it was done with. */
  async #deliver(
    mapping: StreamEventSourceMapping,
    streamArn: string,
    shardId: string,
    batch: readonly StreamRecord[],
  ): Promise<boolean> {
    const queue: { records: readonly StreamRecord[]; attempts: number }[] = [{ records: batch, attempts: 0 }];
    while (queue.length > 0) {
      if (!this.#running) return false;
      const [current] = queue;
      if (!current) break;
      const outcome = await this.#invoke(mapping, streamArn, current.records);
      const attempts = current.attempts + 1;
      if (outcome.ok) {
        queue.shift();
        continue;
      }
      const failing = current.records.slice(outcome.from);
      if (mapping.bisectBatchOnFunctionError && failing.length > 1) {
        const half = Math.ceil(failing.length / 2);
        queue.splice(
          0,
          1,
          { records: failing.slice(0, half), attempts: current.attempts },
          { records: failing.slice(half), attempts: current.attempts },
        );
        continue;
      }
      if (
        mapping.maximumRetryAttempts >= 0
          ? attempts > mapping.maximumRetryAttempts
          : pastRetention(failing[0], Date.now())
      ) {
        this.#skip(mapping, streamArn, shardId, failing, attempts, outcome.handled);
        queue.shift();
        continue;
      }
      const base = this.#options.retryBaseDelayMs ?? 1000;
      await this.#nextRetry(Math.min(base * 2 ** current.attempts, 60_000));
      queue[0] = { records: failing, attempts };
    }
    return true;
  }

  /** Waits before a retry; a stop ends the wait. */
  async #nextRetry(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#running && Date.now() < deadline) await this.#nextAppend(deadline - Date.now());
  }

  async #invoke(
    mapping: StreamEventSourceMapping,
    streamArn: string,
    records: readonly StreamRecord[],
  ): Promise<Outcome> {
    let answer: unknown;
    try {
      answer = await this.#options.invoke(mapping.functionName, {
        Records: records.map((record) => eventRecord(record, streamArn)),
      });
    } catch {
      return { ok: false, from: 0, handled: false };
    }
    if (!mapping.reportBatchItemFailures) return { ok: true };
    const reported = BatchItemFailures.safeParse(answer);
    if (!reported.success || reported.data.batchItemFailures.length === 0) return { ok: true };
    // An identifier that is not a sequence number of the batch fails the whole batch, as on AWS.
    const indexes = reported.data.batchItemFailures.map(({ itemIdentifier }) =>
      records.findIndex((record) => record.dynamodb.SequenceNumber === itemIdentifier),
    );
    return { ok: false, from: indexes.some((index) => index < 0) ? 0 : Math.min(...indexes), handled: true };
  }

  #skip(
    mapping: StreamEventSourceMapping,
    streamArn: string,
    shardId: string,
    records: readonly StreamRecord[],
    attempts: number,
    handled: boolean,
  ): void {
    const first = records[0];
    const last = records.at(-1);
    if (!first || !last) return;
    this.#options.onError?.(
      `${mapping.functionName} failed ${attempts} times on ${records.length} records of ${streamArn}; skipped`,
    );
    const destination = mapping.onFailure;
    if (!destination) return;
    const arrival = (record: StreamRecord) =>
      new Date(record.dynamodb.ApproximateCreationDateTime * 1000).toISOString();
    const failure: StreamBatchFailure = {
      requestContext: {
        requestId: crypto.randomUUID(),
        functionArn: mapping.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: handled ? 'Handled' : 'Unhandled',
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first.dynamodb.SequenceNumber,
        endSequenceNumber: last.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: records.length,
        streamArn,
      },
    };
    try {
      this.#options.sendToQueue?.(destination, JSON.stringify(failure));
    } catch (error) {
      this.#options.onError?.(
        `the on-failure record of ${mapping.functionName} could not be sent to ${destination}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
