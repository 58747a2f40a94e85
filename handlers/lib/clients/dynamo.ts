import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The DynamoDB document client, created once per execution environment. Endpoints are never set
 * in code: the SDK reads `AWS_ENDPOINT_URL_*` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * which is how the same code talks to AWS or to the local cloud. One module per client, so a
 * function loads only the SDK clients it uses (each costs cold-start time).
 */
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
