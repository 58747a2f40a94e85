import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

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

/**
 * Puts an item only if no item has its key: the write is the existence check, so concurrent
 * callers agree on who created it. `false` means the key was taken.
 */
export const putIfAbsent = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  partitionKey: string,
): Promise<boolean> => {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': partitionKey },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};
