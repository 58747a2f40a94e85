import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { stageConfig } from '../../../../infra/aws/config.ts';
import { DeadLetterQueues } from '../../../../infra/aws/dead-letter-queues.ts';
import { acknowledge } from '../../../../infra/aws/nag.ts';
import { StreamConsumers } from '../../../../infra/aws/stream-consumers.ts';
import type { TableSpec } from '../../../../infra/topology-types.ts';

const outdir = mkdtempSync(join(tmpdir(), 'sensorbus-stream-consumers-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** A table declaring two stream consumers, as the readings table does (the announcer and the rollups). */
const spec: TableSpec = {
  name: 'sensorbus-changes',
  env: 'CHANGES_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  indexes: [],
  stream: {
    viewType: 'NEW_IMAGE',
    consumers: [
      {
        function: 'relay',
        batchSize: 100,
        maximumBatchingWindowSeconds: 1,
        maximumRetryAttempts: 5,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: true,
        onFailure: 'sensorbus-changes-stream-dlq',
        filters: [{ eventName: ['INSERT'] }],
      },
      {
        function: 'announce',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        maximumRetryAttempts: -1,
        bisectBatchOnFunctionError: false,
        reportBatchItemFailures: false,
        onFailure: 'sensorbus-changes-announce-dlq',
      },
    ],
  },
};

const synthesize = () => {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Consumers');
  const table = new dynamodb.Table(stack, 'Changes', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    stream: dynamodb.StreamViewType.NEW_IMAGE,
  });
  const standIn = (id: string) => {
    const fn = new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
    });
    // Findings of this stand-in function itself (the project's functions handle their own): not under test.
    acknowledge(
      fn,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'Stand-in function of this test',
    );
    acknowledge(fn, 'AwsSolutions-L1', 'Stand-in function of this test, on the runtime the project deploys');
    return fn;
  };
  new StreamConsumers(stack, 'StreamConsumers', {
    tables: { changes: spec },
    tableRefs: { changes: table },
    functions: { relay: standIn('Relay'), announce: standIn('Announce') },
    deadLetterQueues: new DeadLetterQueues(stack, 'DeadLetters', stageConfig('dev', undefined)),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  return Template.fromStack(stack);
};

describe('a table stream consumer on AWS', () => {
  it('is an event source mapping per consumer with the declared settings, its failures to an encrypted queue, every cdk-nag finding handled', () => {
    const template = synthesize();

    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      MaximumRetryAttempts: 5,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'dev-sensorbus-changes-stream-dlq',
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10,
      MaximumRetryAttempts: -1,
      BisectBatchOnFunctionError: false,
      FilterCriteria: Match.absent(),
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
      },
    });
    expect(template.findResources('AWS::Lambda::EventSourceMapping')).toSatisfy(
      (found: object) => Object.keys(found).length === 2,
    );
  }, 120_000);
});
