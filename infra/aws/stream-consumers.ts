import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { TableSpec } from '../topology-types.ts';
import { lookup, type StageConfig } from './config.ts';
import type { DeadLetterQueues } from './dead-letter-queues.ts';
import { acknowledge } from './nag.ts';

/**
 * The SSM parameter holding a table's latest stream ARN, written by the data stack: the stream's
 * label is known only once it is deployed, and the service stack reads it by this name at deploy
 * time rather than through a CloudFormation export, so the data stack is never pinned by an import.
 */
export const streamArnParameterName = (stage: StageConfig, tableName: string): string =>
  `/${stage.name}/sensorbus/tables/${tableName}/stream-arn`;

export interface StreamConsumersProps {
  readonly tables: Readonly<Record<string, TableSpec>>;
  /** The tables as the service stack sees them, each with its stream ARN. */
  readonly tableRefs: Readonly<Record<string, dynamodb.ITable>>;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly deadLetterQueues: DeadLetterQueues;
}

/**
 * A Lambda event source mapping for every consumer a table's stream declares
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html), with the settings the local
 * cloud's mappings run with: from TRIM_HORIZON, the batch size and window, retries, bisecting,
 * partial batch responses, event filters, and skipped batches' metadata to an encrypted dead-letter queue.
 */
export class StreamConsumers extends Construct {
  constructor(scope: Construct, id: string, props: StreamConsumersProps) {
    super(scope, id);
    for (const [key, spec] of Object.entries(props.tables)) {
      for (const consumer of spec.stream?.consumers ?? []) {
        const fn = lookup(props.functions, consumer.function, 'Function');
        const table = lookup(props.tableRefs, key, 'Table');
        fn.addEventSource(
          new DynamoEventSource(table, {
            startingPosition: lambda.StartingPosition.TRIM_HORIZON,
            batchSize: consumer.batchSize,
            maxBatchingWindow: Duration.seconds(consumer.maximumBatchingWindowSeconds),
            retryAttempts: consumer.maximumRetryAttempts,
            bisectBatchOnError: consumer.bisectBatchOnFunctionError,
            reportBatchItemFailures: consumer.reportBatchItemFailures,
            onFailure: new SqsDlq(props.deadLetterQueues.queue(consumer.onFailure)),
            ...(consumer.filters
              ? { filters: consumer.filters.map((filter) => lambda.FilterCriteria.filter({ ...filter })) }
              : {}),
          }),
        );
        // DynamoDB Streams' ListStreams has no resource-level permission: the grant names `*`.
        acknowledge(
          fn,
          'AwsSolutions-IAM5[Resource::*]',
          `dynamodb:ListStreams cannot be scoped to a resource; the consumer of ${spec.name}'s stream reads records only from that stream.`,
        );
      }
    }
  }
}
