import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

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

/**
 * The named attributes of one item, read alone (a projection: the read is billed by the whole
 * item's size all the same, and parses only what it names), strongly consistent when asked;
 * undefined when no item has the key.
 */
export const getAttributes = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, unknown>,
  attributes: readonly string[],
  options: { readonly consistent?: boolean } = {},
): Promise<Record<string, unknown> | undefined> => {
  const names = Object.fromEntries(attributes.map((attribute) => [`#${attribute}`, attribute]));
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: key,
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ...(options.consistent ? { ConsistentRead: true } : {}),
    }),
  );
  return Item;
};
