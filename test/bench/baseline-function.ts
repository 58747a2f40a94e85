import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * The bench's baseline function: the least a sensorbus function can be, one SDK client at module
 * scope and one call per invocation. Bundled and started exactly as the real functions are, its
 * init is what every function's init is held to (a ratio measured in the same run, so the target
 * holds on a fast machine and a slow one alike).
 */
const client = new DynamoDBClient({});

export const handler = async (): Promise<boolean> => {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: 'sensorbus-bench-baseline', Key: { id: { S: 'baseline' } } }),
  );
  return Item !== undefined;
};
