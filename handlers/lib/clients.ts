import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, created once per execution environment. Endpoints are never set here: the SDK reads
 * `AWS_ENDPOINT_URL_*` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * which is how the same code talks to AWS or to the local cloud.
 */
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});

export const eventBridge = new EventBridgeClient({});

export const sns = new SNSClient({});
