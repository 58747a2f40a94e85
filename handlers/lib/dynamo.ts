import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';

/**
 * A Query of a table's index for the items whose partition key `name` is `value`: the one shape
 * every lookup by index takes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html).
 */
export const indexQuery = (tableName: string, indexName: string, name: string, value: string) => ({
  TableName: tableName,
  IndexName: indexName,
  KeyConditionExpression: '#pk = :pk',
  ExpressionAttributeNames: { '#pk': name },
  ExpressionAttributeValues: { ':pk': value },
});

/** Makes a conditional write: `false` when its condition did not hold, any other failure thrown. */
export const conditionHeld = async (write: () => Promise<unknown>): Promise<boolean> => {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};

/**
 * Puts an item only if no item has its key: the write is the existence check, so concurrent
 * callers agree on who created it. `false` means the key was taken.
 */
export const putIfAbsent = (
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  partitionKey: string,
): Promise<boolean> =>
  conditionHeld(() =>
    client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': partitionKey },
      }),
    ),
  );

/** A read's projection of the named attributes, none (the whole item) when it names none. */
const projectionOf = (attributes: readonly string[] | undefined) => {
  if (!attributes) return {};
  const names = Object.fromEntries(attributes.map((attribute) => [`#${attribute}`, attribute]));
  return { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names };
};

/**
 * The named attributes of one item, read alone (a projection: the read is billed by the whole
 * item's size all the same, and parses only what it names), strongly consistent when asked;
 * undefined when no item has the key.
 */
export const getAttributes = (
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, unknown>,
  attributes: readonly string[],
  options: { readonly consistent?: boolean } = {},
): Promise<Record<string, unknown> | undefined> =>
  readItem(client, {
    table: tableName,
    key,
    attributes,
    ...(options.consistent ? { consistent: true } : {}),
    parse: (item) => item,
  });

/**
 * A read of one item: its table and key, whether strongly consistent, the attributes it needs
 * (the whole item when none), and what the item, or its absence, comes to.
 */
export interface ItemRead<T> {
  readonly table: string;
  readonly key: Record<string, unknown>;
  readonly consistent?: boolean;
  readonly attributes?: readonly string[];
  readonly parse: (item: Record<string, unknown> | undefined) => T;
}

/** Reads one item alone, one GetItem, and parses it. */
export const readItem = async <T>(client: DynamoDBDocumentClient, read: ItemRead<T>): Promise<T> => {
  const { Item } = await client.send(
    new GetCommand({
      TableName: read.table,
      Key: read.key,
      ...projectionOf(read.attributes),
      ...(read.consistent ? { ConsistentRead: true } : {}),
    }),
  );
  return read.parse(Item);
};

/**
 * Sends a batch request (BatchGetItem, BatchWriteItem) again for what DynamoDB left unprocessed,
 * as it may under throttling, each time after an exponential backoff
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.BatchOperations);
 * throws when `attempts` sends still left some.
 */
export const sendUntilProcessed = async <P>(
  first: P,
  send: (pending: P) => Promise<P | undefined>,
  isEmpty: (pending: P) => boolean,
  { attempts, backoffMs }: { readonly attempts: number; readonly backoffMs: number },
): Promise<void> => {
  let pending: P | undefined = first;
  for (let attempt = 0; pending !== undefined && !isEmpty(pending); attempt++) {
    if (attempt >= attempts)
      throw new Error(`DynamoDB left part of a batch unprocessed after ${attempts} sends`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
    pending = await send(pending);
  }
};

/**
 * Items of different tables read in one BatchGetItem, one round trip where each read alone would
 * be one, billed the same (each item by its own size,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#read-operation-consumption).
 * Consistency and projection are set per table, so each read is of a table of its own. Keys left
 * unprocessed are asked again. Answers each read's item (undefined when absent), unparsed and in
 * order, so that a reader parses, and fails, only its own.
 */
export const readItemsAtOnce = async (
  client: DynamoDBDocumentClient,
  reads: readonly ItemRead<unknown>[],
): Promise<(Record<string, unknown> | undefined)[]> => {
  if (new Set(reads.map((read) => read.table)).size !== reads.length)
    throw new Error('readItemsAtOnce reads one item a table');
  const asked: NonNullable<BatchGetCommandInput['RequestItems']> = Object.fromEntries(
    reads.map((read) => [
      read.table,
      {
        Keys: [read.key],
        ...projectionOf(read.attributes),
        ...(read.consistent ? { ConsistentRead: true } : {}),
      },
    ]),
  );
  const found = new Map<string, Record<string, unknown>>();
  await sendUntilProcessed(
    asked,
    async (pending) => {
      const answer: BatchGetCommandOutput = await client.send(new BatchGetCommand({ RequestItems: pending }));
      for (const [table, [item]] of Object.entries(answer.Responses ?? {})) if (item) found.set(table, item);
      return answer.UnprocessedKeys;
    },
    (pending) => Object.keys(pending).length === 0,
    { attempts: 5, backoffMs: 25 },
  );
  return reads.map((read) => found.get(read.table));
};
