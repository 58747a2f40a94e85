/**
 * DynamoDB Streams for the local DynamoDB (dynalite has none): each table's stream, its records,
 * and the DynamoDB Streams API (`DynamoDBStreams_20120810.*`: ListStreams, DescribeStream,
 * GetShardIterator, GetRecords), answered as AWS answers them
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB_Streams.html).
 *
 * A stream here has one shard, which stays open while the stream is enabled (AWS rolls shards over
 * every few hours; a consumer that follows `NextShardIterator` and the shard list sees no
 * difference). Records are kept 24 hours, as on AWS, in a JSON Lines file per stream that each
 * record is written to (one `write(2)`) before the write that made it is answered. Memory holds
 * only the newest records of each stream ({@link DEFAULT_RECORDS_IN_MEMORY}) and a sparse index of
 * the file; a reader further behind (a TRIM_HORIZON iterator, a consumer catching up) reads the
 * older records back from the file, so memory does not grow with the 24 hours of records.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsError } from '../shared/aws-protocol.ts';
import { PartitionWrites } from './partition-writes.ts';

/** What a stream record carries besides the keys (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_StreamSpecification.html). */
export const STREAM_VIEW_TYPES = ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'] as const;
export type StreamViewType = (typeof STREAM_VIEW_TYPES)[number];

export const isStreamViewType = (value: unknown): value is StreamViewType =>
  typeof value === 'string' && (STREAM_VIEW_TYPES as readonly string[]).includes(value);

/** An attribute value in DynamoDB's JSON wire form (binary as base64), as dynalite answers and stream records carry it. */
export type AttributeValue = {
  S?: string | undefined;
  N?: string | undefined;
  B?: string | undefined;
  SS?: string[] | undefined;
  NS?: string[] | undefined;
  BS?: string[] | undefined;
  L?: AttributeValue[] | undefined;
  M?: Record<string, AttributeValue> | undefined;
  BOOL?: boolean | undefined;
  NULL?: boolean | undefined;
};
export const AttributeValue: z.ZodType<AttributeValue> = z.lazy(() =>
  z.object({
    S: z.string().optional(),
    N: z.string().optional(),
    B: z.string().optional(),
    SS: z.array(z.string()).optional(),
    NS: z.array(z.string()).optional(),
    BS: z.array(z.string()).optional(),
    L: z.array(AttributeValue).optional(),
    M: z.record(z.string(), AttributeValue).optional(),
    BOOL: z.boolean().optional(),
    NULL: z.boolean().optional(),
  }),
);
export const Item = z.record(z.string(), AttributeValue);
export type Item = z.infer<typeof Item>;

/** A key attribute of a table, as DescribeTable's `KeySchema` names it. */
export const KeyElement = z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) });
export type KeyElement = z.infer<typeof KeyElement>;

/**
 * Who made a change: only TTL deletions carry one
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html),
 * spelled as the Streams API's `Identity` shape spells it (a Lambda event spells it `type`, `principalId`).
 */
const UserIdentity = z.object({
  Type: z.literal('Service'),
  PrincipalId: z.literal('dynamodb.amazonaws.com'),
});
export type UserIdentity = z.infer<typeof UserIdentity>;

/** The identity of TTL's own deletions in their REMOVE records. */
export const TTL_IDENTITY: UserIdentity = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };

/** A stream record as GetRecords answers it (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html). */
export const StreamRecord = z.object({
  eventID: z.string(),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  eventVersion: z.literal('1.1'),
  eventSource: z.literal('aws:dynamodb'),
  awsRegion: z.string(),
  dynamodb: z.object({
    /** Epoch seconds, as the API answers it. */
    ApproximateCreationDateTime: z.number(),
    Keys: Item,
    NewImage: Item.optional(),
    OldImage: Item.optional(),
    SequenceNumber: z.string(),
    SizeBytes: z.number(),
    StreamViewType: z.enum(STREAM_VIEW_TYPES),
  }),
  userIdentity: UserIdentity.optional(),
});
export type StreamRecord = z.infer<typeof StreamRecord>;

/** A change to one item, before it is a record: what it was and what it is. */
export interface ItemChange {
  readonly eventId: string;
  readonly keys: Item;
  readonly oldImage: Item | undefined;
  readonly newImage: Item | undefined;
  readonly userIdentity?: UserIdentity;
}

const StreamMeta = z.object({
  arn: z.string(),
  label: z.string(),
  table: z.string(),
  viewType: z.enum(STREAM_VIEW_TYPES),
  keySchema: z.array(KeyElement),
  shardId: z.string(),
  /** Epoch milliseconds. */
  createdAt: z.number(),
  /** Epoch milliseconds; set once the stream is disabled (its table's stream turned off or the table deleted). */
  disabledAt: z.number().optional(),
  /** The last sequence number this stream's shard may hold, once disabled. */
  endingSequenceNumber: z.string().optional(),
});
export type StreamMeta = z.infer<typeof StreamMeta>;

/** How long records and disabled streams are kept (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html). */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
/** A shard iterator expires 15 minutes after GetShardIterator answers it (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html). */
export const ITERATOR_LIFETIME_MS = 15 * 60 * 1000;
/** GetRecords answers at most 1000 records or 1 MB (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html). */
const MAX_GET_RECORDS = 1000;
const MAX_GET_RECORDS_BYTES = 1024 * 1024;
const SEQUENCE_DIGITS = 21;

/**
 * Records of each stream kept in memory when the stream has a file: the newest, which consumers
 * keeping up read. At the soak's pace (two records a reading, 26 readings a second) 24 hours of
 * records in memory grew the process by about 4 KB a record, without bound.
 */
export const DEFAULT_RECORDS_IN_MEMORY = 5000;
/** One record in this many has its place in the file indexed; a read from the file starts at the nearest one. */
const INDEX_EVERY = 256;
const READ_CHUNK_BYTES = 256 * 1024;

const sequence = (n: bigint): string => n.toString().padStart(SEQUENCE_DIGITS, '0');

/** DynamoDB's item size: each attribute's name plus its value (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html). */
export const itemSize = (item: Item | undefined): number =>
  Object.entries(item ?? {}).reduce(
    (size, [name, value]) => size + Buffer.byteLength(name) + valueSize(value),
    0,
  );

const numberSize = (n: string): number => {
  const digits = n.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
};

const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.SS !== undefined) return value.SS.reduce((s, v) => s + Buffer.byteLength(v), 0);
  if (value.NS !== undefined) return value.NS.reduce((s, v) => s + numberSize(v), 0);
  if (value.BS !== undefined) return value.BS.reduce((s, v) => s + Buffer.from(v, 'base64').length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((s, v) => s + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + Object.keys(value.M).length + itemSize(value.M);
  return 1; // BOOL, NULL
};

/** Whether two items are the same (attribute values compared as DynamoDB stores them). */
export const sameItem = (a: Item | undefined, b: Item | undefined): boolean => {
  if (a === undefined || b === undefined) return a === b;
  return sameValue(a, b);
};

/** The keys of an object whose values are defined (an absent member and an undefined one are alike). */
const definedKeys = (value: object): string[] =>
  Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);

/**
 * Whether two JSON values are equal, the members of an object in any order. Compared in place,
 * stopping at the first difference: an item is compared on every write to a table with a stream,
 * and writing each as a canonical string took a twentieth of the local cloud's thread under an
 * ingest load of hour items.
 */
const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((value, i) => sameValue(value, b[i]));
  }
  const keys = definedKeys(a);
  if (keys.length !== definedKeys(b).length) return false;
  const other = b as Record<string, unknown>;
  return keys.every(
    (key) => Object.hasOwn(other, key) && sameValue((a as Record<string, unknown>)[key], other[key]),
  );
};

interface Iterator {
  readonly arn: string;
  readonly shardId: string;
  /** Records after this sequence number are next. */
  readonly after: string;
  /** A TRIM_HORIZON iterator reads from the oldest record kept, whatever was trimmed since. */
  readonly horizon: boolean;
  readonly issuedAt: number;
}

const encodeIterator = (iterator: Iterator): string =>
  Buffer.from(JSON.stringify(iterator)).toString('base64url');

const decodeIterator = (text: unknown): Iterator => {
  const invalid = () => new AwsError('ValidationException', 'Invalid ShardIterator');
  if (typeof text !== 'string' || text.length === 0 || text.length > 2048) throw invalid();
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) throw invalid();
    const { arn, shardId, after, horizon, issuedAt } = value as Record<string, unknown>;
    if (
      typeof arn === 'string' &&
      typeof shardId === 'string' &&
      typeof after === 'string' &&
      /^\d+$/.test(after) &&
      typeof horizon === 'boolean' &&
      typeof issuedAt === 'number'
    )
      return { arn, shardId, after, horizon, issuedAt };
  } catch {
    // an iterator this stream did not issue
  }
  throw invalid();
};

const notFound = (what: string) =>
  new AwsError('ResourceNotFoundException', `Requested resource not found: ${what} not found`);

const requireString = (request: Record<string, unknown>, field: string): string => {
  const value = request[field];
  if (typeof value !== 'string' || value.length === 0)
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
};

const optionalLimit = (request: Record<string, unknown>, max: number): number => {
  const limit = request.Limit;
  if (limit === undefined) return max;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max)
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${max}`,
    );
  return limit;
};

export interface StreamStoreOptions {
  /** Where streams and their records are kept; in memory when absent. */
  readonly dir?: string;
  readonly region: string;
  readonly accountId: string;
  /** The clock, in epoch milliseconds (tests move it to expire iterators and trim records). */
  readonly now?: () => number;
  /** Records of each stream held in memory when there is a `dir` ({@link DEFAULT_RECORDS_IN_MEMORY}); the rest are read back from its file. */
  readonly recordsInMemory?: number;
}

/** Where a kept record's line starts in its stream's file, with its sequence number and creation time (epoch seconds). */
interface FilePlace {
  readonly sequence: bigint;
  readonly offset: number;
  readonly created: number;
}

/**
 * What a stream keeps of its records. Without a file, `tail` is every record kept. With one, the
 * file holds them all and `tail` the newest; `index` places the first record kept and one in
 * {@link INDEX_EVERY} after it, and `evictedThrough` is the newest record that left `tail` (records
 * after it are all in `tail`).
 */
interface Shard {
  readonly tail: StreamRecord[];
  readonly index: FilePlace[];
  evictedThrough: bigint;
  /** Records appended since the last indexed one. */
  sinceIndexed: number;
  /** The file's length in bytes. */
  bytes: number;
}

const newShard = (): Shard => ({ tail: [], index: [], evictedThrough: 0n, sinceIndexed: 0, bytes: 0 });

const sequenceOf = (record: StreamRecord): bigint => BigInt(record.dynamodb.SequenceNumber);

/** The first index in records (in sequence order) whose sequence number is above `after`. */
const firstAfter = (records: readonly StreamRecord[], after: bigint): number => {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const record = records[middle];
    if (record && sequenceOf(record) <= after) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** The complete lines of a file from a byte offset on, each with where it starts; a last line without its newline is left out. */
function* linesFrom(file: string, from: number): Generator<{ line: string; offset: number }> {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    let position = from;
    let carry = Buffer.alloc(0);
    for (;;) {
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) return;
      const buffer =
        carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      const start = position - carry.length;
      let lineStart = 0;
      for (let newline = buffer.indexOf(10); newline >= 0; newline = buffer.indexOf(10, lineStart)) {
        yield { line: buffer.toString('utf8', lineStart, newline), offset: start + lineStart };
        lineStart = newline + 1;
      }
      carry = Buffer.from(buffer.subarray(lineStart));
      position += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** A line of a stream's file as its record. */
const recordOfLine = (line: string): StreamRecord => StreamRecord.parse(JSON.parse(line));

/**
 * Every table's streams and their records. Writes are appended by the change capture before the
 * write that made them is answered; readers are the Streams API and the Lambda event source.
 */
export class StreamStore {
  readonly #dir: string | undefined;
  readonly #region: string;
  readonly #accountId: string;
  readonly #now: () => number;
  readonly #streams = new Map<string, StreamMeta>();
  readonly #shards = new Map<string, Shard>();
  readonly #files = new Map<string, number>();
  readonly #recordsInMemory: number;
  readonly #listeners = new Set<(arn: string) => void>();
  /** Writes in flight to each partition: the change capture counts them, the Lambda event source waits on them. */
  readonly partitionWrites: PartitionWrites;
  #next = 1n;

  constructor(options: StreamStoreOptions) {
    this.#dir = options.dir;
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#now = options.now ?? Date.now;
    this.partitionWrites = new PartitionWrites(this.#now);
    this.#recordsInMemory = options.recordsInMemory ?? DEFAULT_RECORDS_IN_MEMORY;
    if (this.#dir) {
      mkdirSync(this.#dir, { recursive: true });
      this.#load(this.#dir);
    }
  }

  /** The enabled stream of a table, if any. */
  enabledStream(table: string): StreamMeta | undefined {
    return [...this.#streams.values()].find((s) => s.table === table && s.disabledAt === undefined);
  }

  /** Whether any table has an enabled stream (writes elsewhere need no capture). */
  anyEnabled(): boolean {
    for (const stream of this.#streams.values()) if (stream.disabledAt === undefined) return true;
    return false;
  }

  /** The table's latest stream (enabled or not), for DescribeTable's `LatestStreamArn`. */
  latestStream(table: string): StreamMeta | undefined {
    return [...this.#streams.values()].filter((s) => s.table === table).at(-1);
  }

  /** Turns a table's stream on: a new stream with a new label and ARN, as UpdateTable/CreateTable do. */
  enable(table: string, viewType: StreamViewType, keySchema: readonly KeyElement[]): StreamMeta {
    const createdAt = Math.max(this.#now(), (this.latestStream(table)?.createdAt ?? 0) + 1);
    const label = new Date(createdAt).toISOString().slice(0, -1);
    const meta: StreamMeta = {
      arn: `arn:aws:dynamodb:${this.#region}:${this.#accountId}:table/${table}/stream/${label}`,
      label,
      table,
      viewType,
      keySchema: [...keySchema],
      shardId: `shardId-${String(createdAt).padStart(20, '0')}-${crypto.randomUUID().slice(0, 8)}`,
      createdAt,
    };
    this.#streams.set(meta.arn, meta);
    this.#shards.set(meta.arn, newShard());
    this.#saveMeta();
    return meta;
  }

  /** Turns a table's stream off; its records stay readable for 24 hours, its shard closed. */
  disable(table: string): void {
    const stream = this.enabledStream(table);
    if (!stream) return;
    stream.disabledAt = this.#now();
    stream.endingSequenceNumber = sequence(this.#next - 1n);
    this.#saveMeta();
  }

  /** Appends the records of changes to an enabled stream; returns them. Durable when this returns. */
  append(table: string, changes: readonly ItemChange[]): StreamRecord[] {
    const stream = this.enabledStream(table);
    if (!stream || changes.length === 0) return [];
    const created = Math.floor(this.#now() / 1000);
    const records = changes.map((change) => this.#record(stream, change, created));
    const shard = this.#shardOf(stream.arn);
    const fd = this.#file(stream.arn);
    if (fd !== undefined) {
      const lines = records.map((r) => Buffer.from(`${JSON.stringify(r)}\n`));
      const buffer = Buffer.concat(lines);
      let written = 0;
      while (written < buffer.length) written += writeSync(fd, buffer, written);
      let offset = shard.bytes;
      records.forEach((record, i) => {
        if (shard.index.length === 0 || shard.sinceIndexed >= INDEX_EVERY) {
          shard.index.push({ sequence: sequenceOf(record), offset, created });
          shard.sinceIndexed = 0;
        }
        shard.sinceIndexed += 1;
        offset += lines[i]?.length ?? 0;
      });
      shard.bytes = offset;
    }
    shard.tail.push(...records);
    if (fd !== undefined && shard.tail.length > this.#recordsInMemory) {
      const evicted = shard.tail.splice(0, shard.tail.length - this.#recordsInMemory);
      const last = evicted.at(-1);
      if (last) shard.evictedThrough = sequenceOf(last);
    }
    for (const listener of this.#listeners) listener(stream.arn);
    return records;
  }

  /** Whether a change with this event id is already a record of the table's enabled stream (recovery asks). */
  hasEvent(table: string, eventId: string): boolean {
    const stream = this.enabledStream(table);
    if (stream === undefined) return false;
    const shard = this.#shardOf(stream.arn);
    if (shard.tail.some((r) => r.eventID === eventId)) return true;
    const first = shard.index[0];
    if (!this.#dir || shard.evictedThrough === 0n || !first) return false;
    for (const { line } of linesFrom(this.#recordsFile(this.#dir, stream.arn), first.offset)) {
      const record = recordOfLine(line);
      if (sequenceOf(record) > shard.evictedThrough) return false;
      if (record.eventID === eventId) return true;
    }
    return false;
  }

  /** Records of each stream held in memory now (the rest of those kept are in its file). */
  recordsInMemory(): number {
    let count = 0;
    for (const shard of this.#shards.values()) count += shard.tail.length;
    return count;
  }

  /** Calls back with a stream's ARN whenever records are appended to it; returns the unsubscribe. */
  onAppend(listener: (arn: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records of a stream after a sequence number (the Lambda event source reads this way). */
  recordsAfter(arn: string, after: string, limit: number): readonly StreamRecord[] {
    this.#trim();
    const shard = this.#shards.get(arn);
    if (!shard) return [];
    const from = BigInt(after);
    if (from >= shard.evictedThrough) {
      const start = firstAfter(shard.tail, from);
      return shard.tail.slice(start, start + limit);
    }
    return this.#readBack(arn, shard, from, limit);
  }

  /** Records after a sequence number read back from the stream's file, from the nearest indexed record before it. */
  #readBack(arn: string, shard: Shard, after: bigint, limit: number): StreamRecord[] {
    const dir = this.#dir;
    if (!dir) return [];
    let place = shard.index[0];
    for (const candidate of shard.index) {
      if (candidate.sequence > after) break;
      place = candidate;
    }
    if (!place) return [];
    const records: StreamRecord[] = [];
    for (const { line } of linesFrom(this.#recordsFile(dir, arn), place.offset)) {
      const record = recordOfLine(line);
      if (sequenceOf(record) <= after) continue;
      records.push(record);
      if (records.length >= limit) break;
    }
    return records;
  }

  #shardOf(arn: string): Shard {
    let shard = this.#shards.get(arn);
    if (!shard) {
      shard = newShard();
      this.#shards.set(arn, shard);
    }
    return shard;
  }

  /** The sequence number of the oldest record a stream keeps, if it keeps any. */
  #oldest(arn: string): bigint | undefined {
    const shard = this.#shards.get(arn);
    const first = shard?.index[0]?.sequence ?? (shard?.tail[0] ? sequenceOf(shard.tail[0]) : undefined);
    return first;
  }

  /** The shard of a stream (one per stream here). */
  shardOf(arn: string): string | undefined {
    return this.#streams.get(arn)?.shardId;
  }

  /** Answers a DynamoDB Streams API call. */
  handle(operation: string, request: Record<string, unknown>): unknown {
    this.#trim();
    switch (operation) {
      case 'ListStreams':
        return this.#listStreams(request);
      case 'DescribeStream':
        return this.#describeStream(request);
      case 'GetShardIterator':
        return this.#getShardIterator(request);
      case 'GetRecords':
        return this.#getRecords(request);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `No local service answers DynamoDBStreams_20120810.${operation}`,
        );
    }
  }

  /** Closes the record files. */
  close(): void {
    for (const fd of this.#files.values()) closeSync(fd);
    this.#files.clear();
  }

  #record(stream: StreamMeta, change: ItemChange, created: number): StreamRecord {
    const { oldImage, newImage } = change;
    const eventName = oldImage === undefined ? 'INSERT' : newImage === undefined ? 'REMOVE' : 'MODIFY';
    const withNew = stream.viewType === 'NEW_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
    const withOld = stream.viewType === 'OLD_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
    const images = {
      ...(withNew && newImage ? { NewImage: newImage } : {}),
      ...(withOld && oldImage ? { OldImage: oldImage } : {}),
    };
    const SequenceNumber = sequence(this.#next);
    this.#next += 1n;
    return {
      eventID: change.eventId,
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.#region,
      dynamodb: {
        ApproximateCreationDateTime: created,
        Keys: change.keys,
        ...images,
        SequenceNumber,
        SizeBytes: itemSize(change.keys) + itemSize(images.NewImage) + itemSize(images.OldImage),
        StreamViewType: stream.viewType,
      },
      ...(change.userIdentity ? { userIdentity: change.userIdentity } : {}),
    };
  }

  #stream(arn: string): StreamMeta {
    const stream = this.#streams.get(arn);
    if (!stream) throw notFound(`Stream: ${arn}`);
    return stream;
  }

  #listStreams(request: Record<string, unknown>) {
    const limit = optionalLimit(request, 100);
    const table = request.TableName;
    const all = [...this.#streams.values()].filter((s) => table === undefined || s.table === table);
    const start =
      typeof request.ExclusiveStartStreamArn === 'string'
        ? all.findIndex((s) => s.arn === request.ExclusiveStartStreamArn) + 1
        : 0;
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      Streams: page.map((s) => ({ StreamArn: s.arn, TableName: s.table, StreamLabel: s.label })),
      ...(more && page.length > 0 ? { LastEvaluatedStreamArn: page.at(-1)?.arn } : {}),
    };
  }

  #describeStream(request: Record<string, unknown>) {
    const stream = this.#stream(requireString(request, 'StreamArn'));
    const starting = sequence(this.#oldest(stream.arn) ?? this.#next);
    return {
      StreamDescription: {
        StreamArn: stream.arn,
        StreamLabel: stream.label,
        StreamStatus: stream.disabledAt === undefined ? 'ENABLED' : 'DISABLED',
        StreamViewType: stream.viewType,
        CreationRequestDateTime: stream.createdAt / 1000,
        TableName: stream.table,
        KeySchema: stream.keySchema,
        Shards: [
          {
            ShardId: stream.shardId,
            SequenceNumberRange: {
              StartingSequenceNumber: starting,
              ...(stream.endingSequenceNumber ? { EndingSequenceNumber: stream.endingSequenceNumber } : {}),
            },
          },
        ],
      },
    };
  }

  #getShardIterator(request: Record<string, unknown>) {
    const stream = this.#stream(requireString(request, 'StreamArn'));
    const shardId = requireString(request, 'ShardId');
    if (shardId !== stream.shardId) throw notFound(`Shard: ${shardId} in Stream: ${stream.arn}`);
    const type = requireString(request, 'ShardIteratorType');
    const issue = (after: bigint, horizon = false) => ({
      ShardIterator: encodeIterator({
        arn: stream.arn,
        shardId,
        after: sequence(after < 0n ? 0n : after),
        horizon,
        issuedAt: this.#now(),
      }),
    });
    if (type === 'TRIM_HORIZON') return issue(0n, true);
    if (type === 'LATEST') return issue(this.#next - 1n);
    if (type !== 'AT_SEQUENCE_NUMBER' && type !== 'AFTER_SEQUENCE_NUMBER')
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${type}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]`,
      );
    const given = request.SequenceNumber;
    if (typeof given !== 'string' || !/^\d{1,40}$/.test(given))
      throw new AwsError(
        'ValidationException',
        `A sequence number is required for ShardIteratorType ${type}, as a string of digits`,
      );
    const number = BigInt(given);
    const oldest = this.#oldest(stream.arn) ?? this.#next;
    if (number < oldest && this.#trimmedBefore(stream.arn, number))
      throw new AwsError(
        'TrimmedDataAccessException',
        `Sequence number ${given} is older than the trim horizon of shard ${shardId}: its record is past the 24-hour retention`,
      );
    if (number >= this.#next)
      throw new AwsError(
        'ValidationException',
        `Invalid SequenceNumber for ShardIteratorType ${type}: ${given} is beyond the last record of shard ${shardId}`,
      );
    return issue(type === 'AT_SEQUENCE_NUMBER' ? number - 1n : number);
  }

  #getRecords(request: Record<string, unknown>) {
    const iterator = decodeIterator(request.ShardIterator);
    const limit = optionalLimit(request, MAX_GET_RECORDS);
    if (this.#now() - iterator.issuedAt > ITERATOR_LIFETIME_MS)
      throw new AwsError(
        'ExpiredIteratorException',
        'The provided iterator exceeds the maximum age allowed.',
      );
    const stream = this.#stream(iterator.arn);
    if (!iterator.horizon && this.#trimmedBefore(stream.arn, BigInt(iterator.after) + 1n))
      throw new AwsError(
        'TrimmedDataAccessException',
        `The iterator of shard ${iterator.shardId} points past the trim horizon: its records are past the 24-hour retention`,
      );
    const page: StreamRecord[] = [];
    let bytes = 0;
    for (const record of this.recordsAfter(stream.arn, iterator.after, limit)) {
      const size = Buffer.byteLength(JSON.stringify(record));
      if (page.length > 0 && bytes + size > MAX_GET_RECORDS_BYTES) break;
      page.push(record);
      bytes += size;
    }
    const after = page.at(-1)?.dynamodb.SequenceNumber ?? iterator.after;
    const closedAndRead =
      stream.endingSequenceNumber !== undefined &&
      after >= stream.endingSequenceNumber &&
      page.length < limit;
    return {
      Records: page,
      ...(closedAndRead
        ? {}
        : {
            NextShardIterator: encodeIterator({ ...iterator, after, horizon: false, issuedAt: this.#now() }),
          }),
    };
  }

  /** Whether records of a stream at or before `number` were trimmed (there were some, and they are gone). */
  #trimmedBefore(arn: string, number: bigint): boolean {
    const firstKept = this.#oldest(arn) ?? this.#next;
    return number < firstKept && (this.#trimmed.get(arn) ?? 0n) >= number;
  }

  /** The highest sequence number trimmed from each stream. */
  readonly #trimmed = new Map<string, bigint>();

  /** Drops records, and disabled streams, older than the 24-hour retention. */
  #trim(): void {
    const horizon = Math.floor((this.#now() - RETENTION_MS) / 1000);
    for (const [arn, shard] of this.#shards) {
      const { tail } = shard;
      const keep = tail.findIndex((r) => r.dynamodb.ApproximateCreationDateTime >= horizon);
      const drop = keep < 0 ? tail.length : keep;
      const last = tail[drop - 1];
      if (last) this.#trimmed.set(arn, sequenceOf(last));
      if (drop > 0) tail.splice(0, drop);
      this.#trimFile(arn, shard, horizon);
    }
    for (const stream of [...this.#streams.values()]) {
      if (stream.disabledAt !== undefined && this.#now() - stream.disabledAt > RETENTION_MS) {
        this.#streams.delete(stream.arn);
        this.#shards.delete(stream.arn);
        this.#saveMeta();
      }
    }
  }

  /**
   * Moves a stream's first kept record in its file past those older than the horizon (whole
   * indexed runs at once, then record by record); the file itself is cut at the next start.
   */
  #trimFile(arn: string, shard: Shard, horizon: number): void {
    const { index } = shard;
    if (!this.#dir || !index[0] || index[0].created >= horizon) return;
    while (index[1] && index[1].created < horizon) index.shift();
    const first = index[0];
    if (!first) return;
    index.shift();
    for (const { line, offset } of linesFrom(this.#recordsFile(this.#dir, arn), first.offset)) {
      const record = recordOfLine(line);
      const created = record.dynamodb.ApproximateCreationDateTime;
      if (created >= horizon) {
        if (index[0]?.sequence !== sequenceOf(record))
          index.unshift({ sequence: sequenceOf(record), offset, created });
        return;
      }
      this.#trimmed.set(arn, sequenceOf(record));
      if (shard.evictedThrough < sequenceOf(record)) shard.evictedThrough = sequenceOf(record);
      if (index[0] && sequenceOf(record) >= index[0].sequence) index.shift();
    }
  }

  #file(arn: string): number | undefined {
    if (!this.#dir) return undefined;
    let fd = this.#files.get(arn);
    if (fd === undefined) {
      fd = openSync(this.#recordsFile(this.#dir, arn), 'a');
      this.#files.set(arn, fd);
    }
    return fd;
  }

  #recordsFile(dir: string, arn: string): string {
    return join(dir, `${arn.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
  }

  #saveMeta(): void {
    if (!this.#dir) return;
    const file = join(this.#dir, 'streams.json');
    writeFileSync(`${file}.tmp`, JSON.stringify([...this.#streams.values()]));
    renameSync(`${file}.tmp`, file);
  }

  /**
   * Reads a stream's file record by record: rewrites it without the records past retention (and
   * without a last line the process did not finish), indexes it and keeps the newest in memory.
   */
  #loadRecords(file: string, arn: string, horizon: number): Shard {
    const shard = newShard();
    const out = openSync(`${file}.tmp`, 'w');
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = () => {
        const buffer = Buffer.concat(pending);
        let written = 0;
        while (written < buffer.length) written += writeSync(out, buffer, written);
        pending = [];
        pendingBytes = 0;
      };
      for (const { line } of linesFrom(file, 0)) {
        if (line === '') continue;
        const record = recordOfLine(line);
        const number = sequenceOf(record);
        if (number + 1n > this.#next) this.#next = number + 1n;
        const created = record.dynamodb.ApproximateCreationDateTime;
        if (created < horizon) {
          this.#trimmed.set(arn, number);
          continue;
        }
        if (shard.index.length === 0 || shard.sinceIndexed >= INDEX_EVERY) {
          shard.index.push({ sequence: number, offset: shard.bytes, created });
          shard.sinceIndexed = 0;
        }
        shard.sinceIndexed += 1;
        const bytes = Buffer.from(`${line}\n`);
        shard.bytes += bytes.length;
        pending.push(bytes);
        pendingBytes += bytes.length;
        if (pendingBytes >= READ_CHUNK_BYTES) flush();
        shard.tail.push(record);
        if (shard.tail.length > this.#recordsInMemory) {
          const evicted = shard.tail.shift();
          if (evicted) shard.evictedThrough = sequenceOf(evicted);
        }
      }
      flush();
    } finally {
      closeSync(out);
    }
    renameSync(`${file}.tmp`, file);
    return shard;
  }

  /** Reads the streams and their records kept by a previous run, dropping what is past retention. */
  #load(dir: string): void {
    const metaFile = join(dir, 'streams.json');
    if (!existsSync(metaFile)) return;
    const streams = z.array(StreamMeta).parse(JSON.parse(readFileSync(metaFile, 'utf8')));
    const horizon = Math.floor((this.#now() - RETENTION_MS) / 1000);
    for (const stream of streams) {
      this.#streams.set(stream.arn, stream);
      this.#shards.set(
        stream.arn,
        this.#loadRecords(this.#recordsFile(dir, stream.arn), stream.arn, horizon),
      );
    }
    for (const stream of streams) {
      if (stream.endingSequenceNumber === undefined) continue;
      const next = BigInt(stream.endingSequenceNumber) + 1n;
      if (next > this.#next) this.#next = next;
    }
  }
}
