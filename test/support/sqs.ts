import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { localArns } from '../../local-cloud/launcher/arns.ts';

/**
 * Creates queue `<name>` and its dead-letter queue `<name>-dlq`, the queue's redrive policy moving
 * a message there after `maxReceiveCount` receives, as a developer does with the SDK.
 */
export const createQueueWithDeadLetterQueue = async (
  sqs: SQSClient,
  name: string,
  maxReceiveCount: number,
) => {
  const { QueueUrl: dlqUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { QueueUrl: queueUrl = '' } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: localArns.queue(`${name}-dlq`),
          maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl, dlqUrl, dlqArn: localArns.queue(`${name}-dlq`) };
};
