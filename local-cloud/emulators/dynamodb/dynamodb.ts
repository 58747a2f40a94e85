import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { AttributeDefinition, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { z } from 'zod';
import { type AwsCredentials, verifySignature } from '../edge/sigv4.ts';
import { AwsError, jsonRefusal, readBody, sendAwsJsonError, withBody } from '../shared/aws-protocol.ts';
import { Journal } from '../shared/journal.ts';
import { ChangeCapture, Intent, keysOf, type Touched } from './change-capture.ts';
import { closeIteratorsOnReturn } from './level-iterators.ts';
import {
  type AttributeValue,
  Item,
  isStreamViewType,
  KeyElement,
  StreamStore,
  type StreamViewType,
} from './streams.ts';
import { TimeToLiveSettings } from './time-to-live.ts';

closeIteratorsOnReturn();

interface KeyDefinition {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A table to create: its keys, global secondary indexes, TTL attribute and stream (what CreateTable, UpdateTimeToLive and UpdateTable set). */
export interface TableDefinition {
  readonly name: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey?: KeyDefinition;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: KeyDefinition;
    readonly sortKey?: KeyDefinition;
    readonly projection: 'KEYS_ONLY' | 'ALL';
  }[];
  /** Attribute holding an epoch-seconds expiry: TTL is enabled on it. */
  readonly timeToLiveAttribute?: string;
  /** The table's stream, enabled with this view type. */
  readonly stream?: { readonly viewType: StreamViewType };
}
export interface LocalDynamoDBOptions {
  /** Where dynalite keeps its LevelDB store; in memory when absent. */
  readonly path?: string;
  /** Where streams, their records and TTL settings are kept; in memory when absent. */
  readonly stateDir?: string;
  /** The journal of writes whose stream records are not yet written; in memory when absent. */
  readonly journalFile?: string;
  /** The only key whose SigV4 signatures are accepted. */
  readonly credentials: AwsCredentials;
  /** The region signatures are scoped to. */
  readonly region: string;
  /** The account stream ARNs name. */
  readonly accountId?: string;
}

const JSON_1_0 = 'application/x-amz-json-1.0';

/** Writes of single items, and where their key is in the request. */
const ITEM_WRITES = { PutItem: 'Item', UpdateItem: 'Key', DeleteItem: 'Key' } as const;
const isItemWrite = (operation: string): operation is keyof typeof ITEM_WRITES =>
  Object.hasOwn(ITEM_WRITES, operation);

/** Table-level operations dynalite cannot answer alone (streams, TTL). */
const TABLE_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateTable',
  'UpdateTable',
  'DescribeTable',
  'DeleteTable',
  'UpdateTimeToLive',
  'DescribeTimeToLive',
]);

/** What the store answered: passed back to the caller as it is. */
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const StreamSpecification = z.object({ StreamEnabled: z.boolean(), StreamViewType: z.string().optional() });

// Below, the schemas of what every captured write parses, built once: zod compiles an object schema
// on its first use, which costs more than parsing with it, so one built per call was paid on every write.

/**
 * dynalite's answer to the change capture's GetItem (the old and the new image of every write to a
 * table with a stream). dynalite validated the write that made the item, so its attribute values
 * are taken as it answers them: parsed by `Item`'s recursive schema, the images of an ingest load
 * of hour items took a thirtieth of the local cloud's thread.
 */
const GetItemAnswer = z.object({
  Item: z
    .record(
      z.string(),
      z.custom<AttributeValue>((value) => typeof value === 'object' && value !== null),
    )
    .optional(),
});
const JsonObject = z.record(z.string(), z.unknown());
const TableAnswer = z.object({ TableName: z.string(), KeySchema: z.array(KeyElement) }).loose();
const BatchWrites = z.record(
  z.string(),
  z.array(
    z.object({
      PutRequest: z.object({ Item }).optional(),
      DeleteRequest: z.object({ Key: Item }).optional(),
    }),
  ),
);
/** TTL leaves alone items whose expiry is more than five years past (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html). */
const TTL_MAX_AGE_SECONDS = 5 * 365 * 24 * 60 * 60;

/**
 * DynamoDB for the local cloud, served by dynalite (a faithful DynamoDB implementation on LevelDB),
 * grown with what dynalite lacks: DynamoDB Streams (`StreamSpecification` on CreateTable and
 * UpdateTable, DescribeTable's `LatestStreamArn`, a record for every item-level change, the
 * DynamoDB Streams API) and Time to Live (UpdateTimeToLive, DescribeTimeToLive, a sweep that
 * deletes expired items with REMOVE records marked as TTL's). The edge hands it DynamoDB requests;
 * those that touch neither a stream nor TTL go to dynalite untouched.
 */
export class LocalDynamoDB {
  readonly #server: Server;
  readonly #credentials: AwsCredentials;
  readonly #region: string;
  /** dynalite's request listener: an HTTP request, or an {@link InProcessRequest}, in; its answer written to the response. */
  readonly #listener: (
    req: IncomingMessage | InProcessRequest,
    res: ServerResponse | InProcessResponse,
  ) => void;
  readonly #journal: Journal<Intent>;
  readonly #ttl: TimeToLiveSettings;
  /** Every table's streams and their records: the DynamoDB Streams API and the Lambda event source read them. */
  readonly streams: StreamStore;
  readonly #capture: ChangeCapture;
  /**
   * What dynalite requires of any request's authorization: the parts of a SigV4 signature. It
   * checks their presence only (not the signature, nor the date's age); the signatures it is
   * handed were verified by the edge or by its loopback listener, and the local cloud's own calls
   * carry these, scoped to its own key.
   */
  readonly #ownSignatureParts: Readonly<Record<string, string>>;
  #endpoint = '';
  #sweeping = false;
  #stopping = false;
  /** Requests handed to dynalite in-process and not answered yet: stop waits for them before closing its database. */
  readonly #answering = new Set<Promise<Answer>>();

  constructor(options: LocalDynamoDBOptions) {
    this.#credentials = options.credentials;
    this.#region = options.region;
    const amzDate = new Date().toISOString().replaceAll(/[-:]|\.\d{3}/g, '');
    const scope = `${options.credentials.accessKeyId}/${amzDate.slice(0, 8)}/${options.region}/dynamodb/aws4_request`;
    this.#ownSignatureParts = {
      authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=in-process`,
      'x-amz-date': amzDate,
    };
    this.#server = dynalite({
      ...(options.path ? { path: options.path } : {}),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    // dynalite's own listener answers anyone on the machine: it gets the edge's signature check.
    const [listener] = this.#server.listeners('request');
    if (typeof listener !== 'function') throw new Error('dynalite did not register its request listener');
    this.#listener = (req, res) => void listener.call(this.#server, req, res);
    this.#server.removeAllListeners('request');
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#signedOnly(req, res).catch(() => res.destroy());
    });
    this.streams = new StreamStore({
      ...(options.stateDir ? { dir: join(options.stateDir, 'streams') } : {}),
      region: options.region,
      accountId: options.accountId ?? '000000000000',
    });
    this.#ttl = new TimeToLiveSettings(options.stateDir);
    if (options.journalFile) mkdirSync(dirname(options.journalFile), { recursive: true });
    this.#journal = new Journal({
      ...(options.journalFile ? { file: options.journalFile } : {}),
      decode: (value) => Intent.parse(value),
    });
    this.#capture = new ChangeCapture({
      streams: this.streams,
      journal: this.#journal,
      getItem: (table, keys) => this.#getItem(table, keys),
    });
  }

  /**
   * dynalite owns a loopback listener so it can close its store cleanly, and so the table set-up,
   * the change capture and TTL sweeps (signed) can reach it before the edge is up; the edge calls
   * it in-process. Writes a previous run left without their stream records get them now.
   */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#endpoint = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    await this.#capture.recover();
  }

  /** Serves a request the edge has already authenticated. */
  async handle(operation: string, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    // Reads, and writes while no table has a stream, go to dynalite as they came, unparsed.
    const writes = operation === 'BatchWriteItem' || isItemWrite(operation);
    if (!TABLE_OPERATIONS.has(operation) && !(writes && this.streams.anyEnabled()))
      return this.#listener(withBody(req, body), res);
    const request = parseRequest(body);
    try {
      const answer = request && (await this.#intercept(operation, request, req, body));
      if (answer) return sendAnswer(res, answer);
    } catch (error) {
      if (error instanceof AwsError) return sendAwsJsonError(res, error, JSON_1_0);
      throw error;
    }
    this.#listener(withBody(req, body), res);
  }

  /** Answers a DynamoDB Streams API call (`DynamoDBStreams_20120810.*`). */
  handleStreams(operation: string, request: Record<string, unknown>): unknown {
    return this.streams.handle(operation, request);
  }

  /** The answer to a request dynalite cannot give alone, or undefined to let dynalite answer it. */
  async #intercept(
    operation: string,
    request: Record<string, unknown>,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<Answer | undefined> {
    switch (operation) {
      case 'CreateTable':
        return this.#createTable(request);
      case 'UpdateTable':
        return 'StreamSpecification' in request ? this.#updateTable(request) : undefined;
      case 'DescribeTable':
        return this.#withStream(await this.#call('DescribeTable', request), 'Table');
      case 'DeleteTable': {
        const answer = await this.#call('DeleteTable', request);
        if (answer.status === 200 && typeof request.TableName === 'string') {
          this.streams.disable(request.TableName);
          this.#ttl.set(request.TableName, undefined);
        }
        return answer;
      }
      case 'UpdateTimeToLive':
      case 'DescribeTimeToLive':
        return this.#timeToLive(operation, request);
      case 'BatchWriteItem':
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem': {
        const touched = this.#touched(operation, request);
        if (touched.length === 0) return undefined;
        return this.#capture.capture(touched, () => this.#forward(req, body));
      }
      default:
        return undefined;
    }
  }

  /** The items of streamed tables a write touches. */
  #touched(operation: string, request: Record<string, unknown>): Touched[] {
    if (isItemWrite(operation)) {
      const table = request.TableName;
      const keySchema = typeof table === 'string' ? this.#capture.keySchemaOf(table) : undefined;
      const item = Item.safeParse(request[ITEM_WRITES[operation]]);
      const keys = keySchema && item.success ? keysOf(item.data, keySchema) : undefined;
      return typeof table === 'string' && keys ? [{ table, keys }] : [];
    }
    const writes = BatchWrites.safeParse(request.RequestItems);
    if (!writes.success) return [];
    return Object.entries(writes.data).flatMap(([table, requests]) => {
      const keySchema = this.#capture.keySchemaOf(table);
      if (!keySchema) return [];
      return requests.flatMap((write) => {
        const item = write.PutRequest?.Item ?? write.DeleteRequest?.Key;
        const keys = item && keysOf(item, keySchema);
        return keys ? [{ table, keys }] : [];
      });
    });
  }

  async #createTable(request: Record<string, unknown>): Promise<Answer> {
    const { StreamSpecification: given, ...rest } = request;
    const viewType = given === undefined ? undefined : streamViewTypeOf(given);
    const answer = await this.#call('CreateTable', rest);
    if (answer.status !== 200 || !viewType) return answer;
    const table = TableAnswer.parse(
      z.object({ TableDescription: z.unknown() }).parse(JSON.parse(answer.body)).TableDescription,
    );
    this.streams.enable(table.TableName, viewType, table.KeySchema);
    return this.#withStream(answer, 'TableDescription');
  }

  /**
   * UpdateTable with a `StreamSpecification`: a stream is enabled (a new one, with a new ARN) or
   * disabled (its records stay readable 24 hours); what else the request changes goes to dynalite.
   */
  async #updateTable(request: Record<string, unknown>): Promise<Answer> {
    const { StreamSpecification: given, ...rest } = request;
    const viewType = streamViewTypeOf(given);
    const described = await this.#call('DescribeTable', { TableName: request.TableName });
    if (described.status !== 200) return described;
    const table = TableAnswer.parse(z.object({ Table: z.unknown() }).parse(JSON.parse(described.body)).Table);
    const enabled = this.streams.enabledStream(table.TableName);
    if (viewType && enabled)
      throw new AwsError(
        'ValidationException',
        `Table already has an enabled stream: TableName: ${table.TableName}`,
      );
    if (!viewType && !enabled)
      throw new AwsError(
        'ValidationException',
        `Table has no enabled stream to disable: TableName: ${table.TableName}`,
      );
    const others = Object.keys(rest).filter((key) => key !== 'TableName');
    const updated = others.length > 0 ? await this.#call('UpdateTable', rest) : undefined;
    if (updated && updated.status !== 200) return updated;
    if (viewType) this.streams.enable(table.TableName, viewType, table.KeySchema);
    else this.streams.disable(table.TableName);
    const after = await this.#call('DescribeTable', { TableName: table.TableName });
    const description = z.object({ Table: z.unknown() }).parse(JSON.parse(after.body)).Table;
    return this.#withStream(
      { ...after, body: JSON.stringify({ TableDescription: description }) },
      'TableDescription',
    );
  }

  /** A table description with its stream, as DescribeTable answers it on AWS. */
  #withStream(answer: Answer, field: 'Table' | 'TableDescription'): Answer {
    if (answer.status !== 200) return answer;
    const parsed = z.record(z.string(), z.unknown()).parse(JSON.parse(answer.body));
    const table = TableAnswer.safeParse(parsed[field]);
    if (!table.success) return answer;
    const latest = this.streams.latestStream(table.data.TableName);
    if (!latest) return answer;
    const enabled = latest.disabledAt === undefined;
    const description = {
      ...table.data,
      ...(enabled ? { StreamSpecification: { StreamEnabled: true, StreamViewType: latest.viewType } } : {}),
      LatestStreamArn: latest.arn,
      LatestStreamLabel: latest.label,
    };
    const body = JSON.stringify({ ...parsed, [field]: description });
    return {
      ...answer,
      headers: { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) },
      body,
    };
  }

  async #timeToLive(
    operation: 'UpdateTimeToLive' | 'DescribeTimeToLive',
    request: Record<string, unknown>,
  ): Promise<Answer> {
    const described = await this.#call('DescribeTable', { TableName: request.TableName });
    if (described.status !== 200) return described;
    const table = String(request.TableName);
    const answer = operation === 'UpdateTimeToLive' ? this.#ttl.update(request) : this.#ttl.describe(table);
    const body = JSON.stringify(answer);
    return { status: 200, headers: { 'content-type': JSON_1_0 }, body };
  }

  async #signedOnly(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const failure = await verifySignature(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      { credentials: this.#credentials, region: this.#region, service: 'dynamodb' },
    );
    if (failure) return sendAwsJsonError(res, jsonRefusal(failure), JSON_1_0);
    this.#listener(withBody(req, body), res);
  }

  /**
   * A DynamoDB call of the local cloud's own (change capture, TTL, table set-up), handed to
   * dynalite in-process: it never leaves the process, so it is neither signed nor sent over HTTP
   * (signing, a loopback round trip and the listener's signature check cost several times what
   * dynalite's own work on a GetItem does, and change capture makes two such calls per write).
   */
  async #call(operation: string, request: Record<string, unknown>): Promise<Answer> {
    const answer = await this.#inProcess(
      {
        'content-type': JSON_1_0,
        'x-amz-target': `DynamoDB_20120810.${operation}`,
        ...this.#ownSignatureParts,
      },
      Buffer.from(JSON.stringify(request)),
    );
    // Some answers are rewritten (a table description gains its stream), so their checksum is not passed on.
    const { 'x-amz-crc32': _checksum, ...headers } = answer.headers;
    return { ...answer, headers };
  }

  /** The caller's own write, passed to dynalite as it came (the edge verified its signature). */
  #forward(req: IncomingMessage, body: Buffer): Promise<Answer> {
    return this.#inProcess(req.headers, body, req.url);
  }

  /** Hands a request to dynalite's listener in-process and answers what it wrote. */
  #inProcess(headers: IncomingHttpHeaders, body: Buffer, url = '/'): Promise<Answer> {
    // Once stopped, dynalite's database is closed: a request handed to it then (a TTL sweep's Scan)
    // would throw out of its listener, past this promise, as an uncaught exception.
    if (this.#stopping) return Promise.reject(new Error('The local DynamoDB is stopped'));
    const answering = new Promise<Answer>((resolve, reject) => {
      const req = new InProcessRequest(headers, url);
      const res = new InProcessResponse((status, written, text) =>
        resolve({ status, headers: answerHeaders(written), body: text }),
      );
      try {
        this.#listener(req, res);
        req.deliver(body);
      } catch (error) {
        reject(error);
      }
    });
    this.#answering.add(answering);
    const forget = () => this.#answering.delete(answering);
    answering.then(forget, forget);
    return answering;
  }

  async #getItem(table: string, keys: Item): Promise<Item | undefined> {
    const answer = await this.#call('GetItem', { TableName: table, Key: keys, ConsistentRead: true });
    if (answer.status !== 200)
      throw new Error(`GetItem on ${table} answered ${answer.status}: ${answer.body}`);
    return GetItemAnswer.parse(JSON.parse(answer.body)).Item;
  }

  /** Creates every table given that does not exist yet, with its stream and TTL; turns on a stream or TTL an existing one lacks. */
  async ensureTables(specs: readonly TableDefinition[]): Promise<void> {
    const listed = await this.#call('ListTables', {});
    const existing = new Set(
      z.object({ TableNames: z.array(z.string()) }).parse(JSON.parse(listed.body)).TableNames,
    );
    for (const spec of specs) {
      if (!existing.has(spec.name)) {
        const created = await this.#call('CreateTable', createTableInput(spec));
        if (created.status !== 200) throw new Error(`CreateTable ${spec.name}: ${created.body}`);
      }
      const enabled = this.streams.enabledStream(spec.name);
      if (spec.stream && enabled?.viewType !== spec.stream.viewType) {
        if (enabled) this.streams.disable(spec.name);
        this.streams.enable(spec.name, spec.stream.viewType, keySchemaOf(spec));
      }
      if (!spec.stream && enabled) this.streams.disable(spec.name);
      this.#ttl.set(spec.name, spec.timeToLiveAttribute);
    }
  }

  /**
   * Deletes items whose TTL attribute (a Number of epoch seconds) has passed, as DynamoDB's TTL does
   * in the background (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html):
   * each with a delete conditional on it still being expired, so an item whose expiry was moved
   * meanwhile stays; on a table with a stream each deletion is a REMOVE record whose `userIdentity`
   * is the TTL service's. Until the sweep reaches them, expired items are still read, as on AWS.
   */
  startTtlSweeper(intervalMs: number): NodeJS.Timeout {
    const timer = setInterval(() => void this.sweepExpired().catch(() => {}), intervalMs);
    timer.unref();
    return timer;
  }

  /** One sweep over every table with TTL enabled; the next sweep retries what failed. Returns how many items it deleted. */
  async sweepExpired(): Promise<number> {
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    let deleted = 0;
    try {
      for (const [table, attribute] of this.#ttl.enabled())
        deleted += await this.#sweepTable(table, attribute);
    } finally {
      this.#sweeping = false;
    }
    return deleted;
  }

  async #sweepTable(table: string, attribute: string): Promise<number> {
    const described = await this.#call('DescribeTable', { TableName: table });
    if (described.status !== 200) return 0;
    const { KeySchema } = TableAnswer.parse(
      z.object({ Table: z.unknown() }).parse(JSON.parse(described.body)).Table,
    );
    let deleted = 0;
    let startKey: Item | undefined;
    do {
      const now = Math.floor(Date.now() / 1000);
      const expired = {
        ExpressionAttributeNames: { '#ttl': attribute },
        ExpressionAttributeValues: {
          ':now': { N: String(now) },
          ':oldest': { N: String(now - TTL_MAX_AGE_SECONDS) },
        },
      };
      const scanned = await this.#call('Scan', {
        TableName: table,
        FilterExpression: '#ttl < :now AND #ttl >= :oldest',
        ...expired,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      if (scanned.status !== 200) throw new Error(`Scan ${table}: ${scanned.body}`);
      const page = z
        .object({ Items: z.array(Item), LastEvaluatedKey: Item.optional() })
        .parse(JSON.parse(scanned.body));
      for (const item of page.Items) {
        const keys = keysOf(item, KeySchema);
        if (!keys) continue;
        const answer = await this.#capture.capture(
          [{ table, keys }],
          () =>
            this.#call('DeleteItem', {
              TableName: table,
              Key: keys,
              ConditionExpression: '#ttl < :now AND #ttl >= :oldest',
              ...expired,
            }),
          { ttl: true },
        );
        if (answer.status === 200) deleted += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  /** A client of dynalite itself, behind the edge (what the edge's meter reads items back with). */
  directClient(): DynamoDBClient {
    return this.#client();
  }

  #client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.#endpoint,
      region: this.#region,
      credentials: {
        accessKeyId: this.#credentials.accessKeyId,
        secretAccessKey: this.#credentials.secretAccessKey,
      },
    });
  }

  async stop(): Promise<void> {
    // No new in-process request is taken; those dynalite is working on (a TTL sweep's Scan) are
    // answered first, since dynalite runs them after its listener returns and one reaching a closed
    // database throws as an uncaught exception. The server answers the requests it holds; dynalite
    // then closes its database.
    this.#stopping = true;
    await Promise.allSettled([...this.#answering]);
    await new Promise<void>((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    );
    this.#journal.close();
    this.streams.close();
  }
}

/** The view type a `StreamSpecification` enables, or undefined for one that disables the stream. */
const streamViewTypeOf = (given: unknown): StreamViewType | undefined => {
  const spec = StreamSpecification.safeParse(given);
  if (!spec.success)
    throw new AwsError(
      'ValidationException',
      'One or more parameter values were invalid: StreamSpecification must have StreamEnabled (a boolean)',
    );
  if (!spec.data.StreamEnabled) return undefined;
  const viewType = spec.data.StreamViewType;
  if (!isStreamViewType(viewType))
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${viewType ?? 'null'}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]`,
    );
  return viewType;
};

const keySchemaOf = (spec: TableDefinition): KeyElement[] => [
  { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
  ...(spec.sortKey ? [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const }] : []),
];

/**
 * The request side of an in-process call, with what dynalite's listener reads of an
 * `IncomingMessage`: its method, URL and headers, and its body as `data` and `end` events.
 */
class InProcessRequest extends EventEmitter {
  readonly method = 'POST';
  /** The caller's URL: a presigned request's signature is in its query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;

  constructor(headers: IncomingHttpHeaders, url: string) {
    super();
    this.headers = headers;
    this.url = url;
  }

  /** Emits the body once the listener has subscribed to it. */
  deliver(body: Buffer): void {
    if (body.length > 0) this.emit('data', body);
    this.emit('end');
  }
}

/** The response side of an in-process call, with what dynalite's listener writes of a `ServerResponse`. */
class InProcessResponse {
  statusCode = 200;
  /** dynalite keeps the request's content type here to answer with it. */
  contentType = JSON_1_0;
  readonly #headers: IncomingHttpHeaders = {};
  readonly #answered: (status: number, headers: IncomingHttpHeaders, body: string) => void;

  constructor(answered: (status: number, headers: IncomingHttpHeaders, body: string) => void) {
    this.#answered = answered;
  }

  setHeader(name: string, value: number | string): void {
    this.#headers[name.toLowerCase()] = String(value);
  }

  end(body?: Buffer | string): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
    this.#answered(this.statusCode, this.#headers, text);
  }
}

const parseRequest = (body: Buffer): Record<string, unknown> | undefined => {
  try {
    const parsed = JsonObject.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // dynalite answers the SerializationException
  }
};

const answerHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'x-amzn-errortype', 'x-amzn-requestid', 'x-amz-crc32']) {
    const value = headers[name];
    if (typeof value === 'string') kept[name] = value;
  }
  return kept;
};

const sendAnswer = (res: ServerResponse, answer: Answer): void => {
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
};

/** The CreateTable request of a table definition (on-demand, like the AWS stack). */
export const createTableInput = (spec: TableDefinition) => {
  const attributes = new Map<string, AttributeDefinition>();
  const add = (key: { name: string; type: 'S' | 'N' }) =>
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  add(spec.partitionKey);
  if (spec.sortKey) add(spec.sortKey);
  const indexes: GlobalSecondaryIndex[] = spec.indexes.map((index) => {
    add(index.partitionKey);
    if (index.sortKey) add(index.sortKey);
    return {
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
      ],
      Projection: { ProjectionType: index.projection },
    };
  });
  return {
    TableName: spec.name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: spec.partitionKey.name, KeyType: 'HASH' as const },
      ...(spec.sortKey ? [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
};
