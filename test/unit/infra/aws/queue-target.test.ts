import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { stageConfig } from '../../../../infra/aws/config.ts';
import { DeadLetterQueues } from '../../../../infra/aws/dead-letter-queues.ts';
import { EventRules } from '../../../../infra/aws/event-rules.ts';
import { acknowledge } from '../../../../infra/aws/nag.ts';
import { TopologyQueues } from '../../../../infra/aws/queues.ts';
import { buses, topics } from '../../../../infra/topology.ts';
import { tapRule, tapTopology } from '../../../support/queue-topology.ts';

const outdir = mkdtempSync(join(tmpdir(), 'sensorbus-queue-target-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const stage = stageConfig('dev', undefined);

/** The rule the test topology adds, deployed as the service stack deploys every rule, cdk-nag on. */
const synthesize = () => {
  const app = new App({ outdir });
  const stack = new Stack(app, 'QueueTarget');
  const busOf = (name: string) => new events.EventBus(stack, name, { eventBusName: name });
  const topic = new sns.Topic(stack, 'Alerts', { topicName: topics.alerts.name, enforceSSL: true });
  // The stand-in topic's own finding (the events stack encrypts the real one): not under test.
  acknowledge(topic, 'AwsSolutions-SNS2', 'Stand-in topic of this test');
  const deadLetterQueues = new DeadLetterQueues(stack, 'DeadLetters', stage);
  const queues = new TopologyQueues(stack, 'Queues', { stage, specs: tapTopology.queues, deadLetterQueues });
  new EventRules(stack, 'Rules', {
    stage,
    rules: tapRule ? [tapRule] : [],
    resources: {
      buses: { telemetry: busOf(buses.telemetry.name), websocket: busOf(buses.websocket.name) },
      topics: { alerts: topic },
    },
    queues: queues.queues,
    functions: {},
    stateMachines: {},
    deadLetterQueues,
    configureAsync: () => undefined,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // An unacknowledged cdk-nag finding fails the synthesis; warnings are kept with the stack.
  const warnings = app
    .synth()
    .getStackArtifact(stack.artifactId)
    .messages.filter((message) => message.level !== 'info');
  return { template: Template.fromStack(stack), warnings };
};

const logicalIdOf = (template: Template, queueName: string): string => {
  const [id, ...others] = Object.keys(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: queueName } }),
  );
  if (!id || others.length > 0) throw new Error(`Expected one queue ${queueName}`);
  return id;
};

describe('a queue target of the topology on AWS', () => {
  it('is an encrypted TLS-only queue with its own dead-letter queue, targeted with the retry policy and the rule dead-letter queue, EventBridge allowed by the queue policy, cdk-nag clean', () => {
    const { template, warnings } = synthesize();
    const tap = logicalIdOf(template, 'dev-sensorbus-readings-tap');
    const tapDeadLetters = logicalIdOf(template, 'dev-sensorbus-readings-tap-redrive-dlq');
    const ruleDeadLetters = logicalIdOf(template, 'dev-sensorbus-readings-tap-dlq');

    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'dev-sensorbus-readings-tap',
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [tapDeadLetters, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'dev-sensorbus-readings-tap',
      EventPattern: tapRule?.eventPattern,
      Targets: [
        {
          Id: 'readings-tap',
          Arn: { 'Fn::GetAtt': [tap, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ruleDeadLetters, 'Arn'] } },
        },
      ],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: tap }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [tap, 'Arn'] },
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    expect(Object.keys(template.findResources('AWS::SQS::Queue'))).toHaveLength(3);
    expect(warnings).toEqual([]);
  }, 120_000);
});
