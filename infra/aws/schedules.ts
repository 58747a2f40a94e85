import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import type { FunctionName } from '../functions.ts';
import type { ScheduleSpec } from '../topology.ts';
import { lookup, physicalNameOfKey, type StageConfig } from './config.ts';
import type { DeadLetterQueues } from './dead-letter-queues.ts';
import type { AsyncInvocation } from './event-rules.ts';

export interface SchedulesProps {
  readonly stage: StageConfig;
  readonly schedules: Readonly<Record<string, ScheduleSpec>>;
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly deadLetterQueues: DeadLetterQueues;
  readonly configureAsync: (name: FunctionName, invocation: AsyncInvocation) => void;
}

/** The name of the dead-letter queue of a schedule. */
export const scheduleDeadLetterQueueName = (key: string): string =>
  `sensorbus-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}-schedule-dlq`;

/**
 * The schedules of `infra/topology.ts`, run by EventBridge Scheduler with a role that may invoke that
 * one function and write to the schedule's dead-letter queue. A scheduled run that fails is not
 * retried by Lambda: the next run does the same work.
 */
export class Schedules extends Construct {
  readonly schedules: Record<string, scheduler.CfnSchedule> = {};

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    for (const [key, spec] of Object.entries(props.schedules)) {
      const fn = lookup(props.functions, spec.function, 'Function');
      const interval = Duration.minutes(spec.everyMinutes);
      const deadLetterQueue = props.deadLetterQueues.queue(scheduleDeadLetterQueueName(key));

      const role = new iam.Role(this, `${key}Role`, {
        description: `Lets EventBridge Scheduler invoke ${key}`,
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [deadLetterQueue.queueArn] }),
      );

      this.schedules[key] = new scheduler.CfnSchedule(this, key, {
        name: physicalNameOfKey(props.stage, key),
        description: `Runs ${spec.function} every ${spec.everyMinutes} minute(s)`,
        scheduleExpression: scheduler.ScheduleExpression.rate(interval).expressionString,
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: fn.functionArn,
          roleArn: role.roleArn,
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: interval.toSeconds() },
          deadLetterConfig: { arn: deadLetterQueue.queueArn },
        },
      });
      props.configureAsync(spec.function, {
        retryAttempts: 0,
        maxEventAge: interval,
        onFailure: deadLetterQueue,
      });
    }
  }
}
