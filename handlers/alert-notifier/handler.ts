import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { dynamoAlertMarks } from '../alerts/records.ts';
import { dynamo, dynamoClient } from '../lib/clients/dynamo.ts';
import { sns } from '../lib/clients/sns.ts';
import { requireEnv } from '../lib/env.ts';
import { AlertNotification, type NotifyDeps, notify } from './notify.ts';

const topicArn = requireEnv('ALERTS_TOPIC_ARN');
const alerts = dynamoAlertMarks(dynamo, requireEnv('ALERTS_TABLE'));

/** On the function's own DynamoDB client: a second client of its own would cost the cold start its creation. */
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: requireEnv('IDEMPOTENCY_TABLE'),
  awsSdkV3Client: dynamoClient,
});

/**
 * Deliveries are at-least-once, so the same alert may arrive twice: the event id makes it one email.
 * All but once: an invocation that ends after SNS accepted its Publish and before its record is
 * completed (killed, timed out) leaves the record in progress, and the redelivery publishes again
 * once the lock runs out. SNS cannot drop that second message: email subscribes to standard
 * topics only, and those deduplicate nothing. A mail twice is the price of never losing one.
 * The key prefix keeps these records apart from other consumers of the same event ids.
 */
const config = new IdempotencyConfig({ eventKeyJmesPath: 'eventId', expiresAfterSeconds: 7 * 24 * 3600 });

/** Target of the `alerts` rule: one SNS message per alert event, however often it is delivered. */
export const makeHandler = (deps: NotifyDeps) => {
  const idempotentNotify = makeIdempotent((event: unknown) => notify(AlertNotification.parse(event), deps), {
    persistenceStore,
    config,
    keyPrefix: 'alert-notifier',
  });
  return async (event: unknown, context: Context) => {
    config.registerLambdaContext(context);
    return idempotentNotify(event);
  };
};

export const liveNotifyDeps = (): NotifyDeps => ({
  publish: async (input) => {
    const published = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: input.subject,
        Message: input.message,
        MessageAttributes: Object.fromEntries(
          Object.entries(input.attributes).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        ),
      }),
    );
    return published.MessageId ?? '';
  },
  snoozedUntil: (alertId) => alerts.snoozedUntil(alertId),
  now: () => new Date(),
});

export const handler = makeHandler(liveNotifyDeps());
