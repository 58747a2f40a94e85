import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueueOfQueue, type QueueSpec } from '../topology-types.ts';
import { dataRemovalPolicy, physicalName, type StageConfig } from './config.ts';
import type { DeadLetterQueues } from './dead-letter-queues.ts';

export interface TopologyQueuesProps {
  readonly stage: StageConfig;
  readonly specs: Readonly<Record<string, QueueSpec>>;
  readonly deadLetterQueues: DeadLetterQueues;
}

/**
 * The queues rules deliver to, as the topology declares them: encrypted with SQS-managed keys (which
 * EventBridge can write to without a key policy, unlike a customer key), TLS only, each with its
 * redrive policy to a dead-letter queue of its own. The rule's target adds the queue policy that
 * lets EventBridge send to it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
 */
export class TopologyQueues extends Construct {
  readonly queues: Record<string, sqs.Queue> = {};

  constructor(scope: Construct, id: string, props: TopologyQueuesProps) {
    super(scope, id);
    for (const [key, spec] of Object.entries(props.specs)) {
      this.queues[key] = new sqs.Queue(this, key, {
        queueName: physicalName(props.stage, spec.name),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        removalPolicy: dataRemovalPolicy(props.stage),
        deadLetterQueue: {
          queue: props.deadLetterQueues.queue(deadLetterQueueOfQueue(spec.name)),
          maxReceiveCount: spec.maxReceiveCount,
        },
      });
    }
  }
}
