import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { physicalName, type StageConfig } from './config.ts';
import { topicKeyFor } from './topic-key.ts';

/**
 * The operators' SNS topic (subscribe to it after deploying) and the alarms that notify it: any
 * message in a dead-letter queue, any function error, any failed workflow execution.
 */
export class OperatorAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly #stage: StageConfig;
  readonly #action: actions.SnsAction;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    this.#stage = stage;
    const name = physicalName(stage, 'sensorbus-operator-alarms');
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: name,
      displayName: `sensorbus alarms (${stage.name})`,
      masterKey: topicKeyFor(this, 'Key', stage, ['cloudwatch.amazonaws.com'], `Encrypts SNS topic ${name}`),
      enforceSSL: true,
    });
    this.#action = new actions.SnsAction(this.topic);
  }

  /**
   * Fires on the first message a dead-letter queue receives: something was not delivered, or a
   * workflow gave up on it and parked it (the enrich queue).
   */
  deadLetterQueueNotEmpty(id: string, queue: sqs.Queue, queueName: string): void {
    this.#add(id, {
      alarmName: physicalName(this.#stage, `${queueName}-not-empty`),
      alarmDescription: `${queueName} holds messages that were not delivered or not processed; inspect and redrive them`,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    });
  }

  /** Fires on any error of a function in a minute. */
  functionErrors(id: string, fn: lambda.IFunction, functionName: string): void {
    this.#add(id, {
      alarmName: `${functionName}-errors`,
      alarmDescription: `${functionName} reported errors`,
      metric: fn.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
    });
  }

  /** Fires on any 5XX answer of an API in a minute (on the REST API, including authorizers that fail, not reject). */
  apiServerErrors(
    id: string,
    api: { metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric },
    name: string,
  ): void {
    this.#add(id, {
      alarmName: `${name}-5xx`,
      alarmDescription: `${name} answered with server errors`,
      metric: api.metricServerError({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
    });
  }

  /** Fires on any failed workflow execution in a minute. */
  stateMachineFailures(id: string, machine: sfn.IStateMachine, name: string): void {
    this.#add(id, {
      alarmName: physicalName(this.#stage, `${name}-failed`),
      alarmDescription: `Executions of ${name} failed`,
      metric: machine.metricFailed({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
    });
  }

  #add(id: string, props: { alarmName: string; alarmDescription: string; metric: cloudwatch.IMetric }): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.#action);
    this.alarms.push(alarm);
  }
}
