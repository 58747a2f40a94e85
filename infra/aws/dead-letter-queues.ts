import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { dataRemovalPolicy, physicalName, type StageConfig } from './config.ts';
import { acknowledge } from './nag.ts';

/**
 * The dead-letter queues of the stack, one per name, created on first use: encrypted with
 * SQS-managed keys (which EventBridge, EventBridge Scheduler and Lambda destinations can all write
 * to without a key policy), TLS only, messages kept for the SQS maximum of 14 days.
 */
export class DeadLetterQueues extends Construct {
  readonly #stage: StageConfig;
  readonly #queues = new Map<string, sqs.Queue>();

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    this.#stage = stage;
  }

  /** The queue the topology calls `name` (e.g. `sensorbus-alerts-dlq`). */
  queue(name: string): sqs.Queue {
    const existing = this.#queues.get(name);
    if (existing) return existing;
    const queue = new sqs.Queue(this, name, {
      queueName: physicalName(this.#stage, name),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: dataRemovalPolicy(this.#stage),
    });
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      'This queue is itself a dead-letter queue (of EventBridge targets, Lambda asynchronous invocations or EventBridge Scheduler); an alarm fires on its first message.',
    );
    this.#queues.set(name, queue);
    return queue;
  }

  all(): sqs.Queue[] {
    return [...this.#queues.values()];
  }
}
