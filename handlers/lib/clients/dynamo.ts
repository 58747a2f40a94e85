import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The DynamoDB client, created once per execution environment. Endpoints are never set
 * in code: the SDK reads `AWS_ENDPOINT_URL_*` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * which is how the same code talks to AWS or to the local cloud. One module per client, so a
 * function loads only the SDK clients it uses (each costs cold-start time), and shares this one
 * (Powertools' idempotency store takes it too).
 */
export const dynamoClient = new DynamoDBClient({});

/** The document client over {@link dynamoClient}: plain JavaScript values in and out. */
export const dynamo = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
