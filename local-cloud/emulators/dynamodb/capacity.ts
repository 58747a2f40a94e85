/**
 * DynamoDB request units, as on-demand tables bill them
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * a write costs one WRU per started KB of the larger of the item before and after, and each global
 * secondary index it changes costs the same for the projected item (an index key that changes is a
 * delete and a put: two writes; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes).
 * A failed condition still consumes the write. Reads are taken from dynalite's own
 * `ConsumedCapacity` (one RRU per started 4 KB, summed over a Query's or Scan's items, half for
 * eventually consistent reads), which dynalite computes for reads only: for writes it counts
 * neither indexes nor failed conditions, so the writes are counted here from the items before and
 * after.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AttributeValue,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { withBody } from '../shared/aws-protocol.ts';
import type { Meter } from '../shared/meter.ts';

type Item = Record<string, AttributeValue>;

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Significant digits of a number's text, leading and trailing zeroes trimmed. */
const numberSize = (text: string): number => {
  const digits = text
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.min(21, Math.ceil(Math.max(1, digits.length) / 2) + 1);
};

/**
 * The size of one attribute value by the rules of
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html.
 */
export const attributeValueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B as unknown as string, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + bytes(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS)
    return value.BS.reduce((sum, b) => sum + Buffer.from(b as unknown as string, 'base64').length, 0);
  if (value.L) return 3 + value.L.reduce((sum, element) => sum + attributeValueSize(element) + 1, 0);
  if (value.M)
    return (
      3 +
      Object.entries(value.M).reduce(
        (sum, [name, element]) => sum + bytes(name) + attributeValueSize(element) + 1,
        0,
      )
    );
  return 0;
};

/** An item's size: its attribute names and values. */
export const itemSize = (item: Item): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + bytes(name) + attributeValueSize(value), 0);

const kb = (size: number): number => Math.max(1, Math.ceil(size / 1024));

interface IndexShape {
  readonly name: string;
  readonly keys: readonly string[];
  /** `undefined` projects every attribute. */
  readonly projected: readonly string[] | undefined;
}

interface TableShape {
  readonly keys: readonly string[];
  readonly indexes: readonly IndexShape[];
}

const shapeOf = (table: TableDescription): TableShape => {
  const keys = (table.KeySchema ?? []).map((k) => k.AttributeName ?? '');
  return {
    keys,
    indexes: (table.GlobalSecondaryIndexes ?? []).map((index) => {
      const indexKeys = (index.KeySchema ?? []).map((k) => k.AttributeName ?? '');
      const type = index.Projection?.ProjectionType ?? 'ALL';
      return {
        name: index.IndexName ?? '',
        keys: indexKeys,
        projected:
          type === 'ALL'
            ? undefined
            : [
                ...keys,
                ...indexKeys,
                ...(type === 'INCLUDE' ? (index.Projection?.NonKeyAttributes ?? []) : []),
              ],
      };
    }),
  };
};

/** The item as an index holds it, or undefined when the item lacks one of the index's keys (a sparse index). */
const indexImage = (index: IndexShape, item: Item | undefined): Item | undefined => {
  if (!item || index.keys.some((key) => item[key] === undefined)) return undefined;
  if (!index.projected) return item;
  return Object.fromEntries(index.projected.flatMap((name) => (item[name] ? [[name, item[name]]] : [])));
};

const same = (a: Item | undefined, b: Item | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Write units of one item going from `before` to `after` (undefined: absent) on a table and its indexes. */
export const writeUnitsOf = (
  shape: TableShape,
  before: Item | undefined,
  after: Item | undefined,
): { table: number; indexes: Record<string, number> } => {
  const table = kb(Math.max(before ? itemSize(before) : 0, after ? itemSize(after) : 0));
  const indexes: Record<string, number> = {};
  for (const index of shape.indexes) {
    const old = indexImage(index, before);
    const next = indexImage(index, after);
    if (same(old, next)) continue;
    const keyChanged =
      old && next && index.keys.some((key) => JSON.stringify(old[key]) !== JSON.stringify(next[key]));
    indexes[index.name] =
      old && next && !keyChanged
        ? kb(Math.max(itemSize(old), itemSize(next)))
        : (old ? kb(itemSize(old)) : 0) + (next ? kb(itemSize(next)) : 0);
  }
  return { table, indexes };
};

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

interface Write {
  readonly table: string;
  readonly key: Item;
  /** The PutItem's item, which a failed condition is billed by. */
  readonly put?: Item;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** Captures what a response listener writes, then hands it on unchanged. */
const captureEnd = (res: ServerResponse, onBody: (status: number, body: string) => void): void => {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const [chunk] = args;
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    onBody(res.statusCode, text);
    return end(...args);
  }) as ServerResponse['end'];
};

/** Serves a DynamoDB request: the request's headers, where to answer, the request's body. */
export type ServeDynamo = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/**
 * Meters the DynamoDB requests the edge serves: reads from dynalite's `ConsumedCapacity` (asked for
 * when the caller did not ask), writes from the items before and after (read back from dynalite).
 */
export class DynamoCapacityMeter {
  readonly #shapes = new Map<string, Promise<TableShape>>();

  constructor(
    private readonly meter: Meter,
    private readonly client: DynamoDBClient,
  ) {}

  /** Serves one request through `serve`, adding the units it consumed to the meter. */
  async serve(
    operation: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    serve: ServeDynamo,
  ): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = record(JSON.parse(body.toString('utf8')));
    } catch {
      return serve(req, res, body);
    }
    if (READS.has(operation)) return this.#read(input, req, res, serve);
    if (WRITES.has(operation)) return this.#write(operation, input, req, res, body, serve);
    serve(req, res, body);
  }

  #read(input: Record<string, unknown>, req: IncomingMessage, res: ServerResponse, serve: ServeDynamo): void {
    const asked = {
      ...input,
      ReturnConsumedCapacity: input.ReturnConsumedCapacity === 'INDEXES' ? 'INDEXES' : 'TOTAL',
    };
    const body = Buffer.from(JSON.stringify(asked));
    captureEnd(res, (status, text) => {
      if (status !== 200) return;
      try {
        const answer = record(JSON.parse(text));
        const consumed = answer.ConsumedCapacity;
        for (const entry of Array.isArray(consumed) ? consumed : [consumed]) {
          const { TableName, CapacityUnits } = record(entry);
          if (typeof TableName === 'string' && typeof CapacityUnits === 'number')
            this.meter.add(`dynamodb/rru/${TableName}`, CapacityUnits);
        }
      } catch {
        // an answer that is not JSON consumed nothing
      }
    });
    const copy = withBody(req, body);
    copy.headers = { ...req.headers, 'content-length': String(body.length) };
    serve(copy, res, body);
  }

  async #write(
    operation: string,
    input: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    serve: ServeDynamo,
  ): Promise<void> {
    const writes = await this.#writesOf(operation, input);
    const before = await Promise.all(writes.map((w) => this.#get(w)));
    const done = new Promise<{ status: number; text: string }>((resolve) =>
      captureEnd(res, (status, text) => resolve({ status, text })),
    );
    serve(req, res, body);
    const { status, text } = await done;
    const conditionFailed = status !== 200 && text.includes('ConditionalCheckFailedException');
    if (status !== 200 && !conditionFailed) return;
    const after = conditionFailed ? before : await Promise.all(writes.map((w) => this.#get(w)));
    for (const [i, write] of writes.entries()) {
      const shape = await this.#shape(write.table);
      if (conditionFailed) {
        const size = Math.max(before[i] ? itemSize(before[i]) : 0, write.put ? itemSize(write.put) : 0);
        this.meter.add(`dynamodb/wru/${write.table}`, kb(size));
        continue;
      }
      const units = writeUnitsOf(shape, before[i], after[i]);
      this.meter.add(`dynamodb/wru/${write.table}`, units.table);
      for (const [index, n] of Object.entries(units.indexes))
        this.meter.add(`dynamodb/wru/${write.table}/${index}`, n);
    }
  }

  async #writesOf(operation: string, input: Record<string, unknown>): Promise<Write[]> {
    if (operation !== 'BatchWriteItem') {
      const table = String(input.TableName);
      if (operation === 'PutItem') {
        const item = record(input.Item) as Item;
        const shape = await this.#shape(table);
        return [
          {
            table,
            key: Object.fromEntries(shape.keys.map((k) => [k, item[k] as AttributeValue])),
            put: item,
          },
        ];
      }
      return [{ table, key: record(input.Key) as Item }];
    }
    const writes: Write[] = [];
    for (const [table, requests] of Object.entries(record(input.RequestItems))) {
      const shape = await this.#shape(table);
      for (const request of Array.isArray(requests) ? requests : []) {
        const put = record(record(request).PutRequest).Item as Item | undefined;
        const key = put
          ? Object.fromEntries(shape.keys.map((k) => [k, put[k] as AttributeValue]))
          : (record(record(request).DeleteRequest).Key as Item);
        writes.push({ table, key, ...(put ? { put } : {}) });
      }
    }
    return writes;
  }

  async #get(write: Write): Promise<Item | undefined> {
    try {
      const answer = await this.client.send(
        new GetItemCommand({ TableName: write.table, Key: write.key, ConsistentRead: true }),
      );
      return answer.Item;
    } catch {
      return undefined;
    }
  }

  #shape(table: string): Promise<TableShape> {
    let shape = this.#shapes.get(table);
    if (!shape) {
      shape = this.client
        .send(new DescribeTableCommand({ TableName: table }))
        .then((answer) => shapeOf(answer.Table ?? {}))
        .catch(() => ({ keys: [], indexes: [] }));
      this.#shapes.set(table, shape);
    }
    return shape;
  }
}
