import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ARCHIVE_RETENTION_DAYS, type BusName, buses, type TopicName, topics } from '../resources.ts';
import { rules } from '../topology.ts';
import type { BusSpec, TopicSpec } from '../topology-types.ts';
import { mapRecord, physicalName, type StageConfig } from './config.ts';
import { EventSchemaRegistry } from './schema-registry.ts';
import { topicKeyFor } from './topic-key.ts';

export interface EventsStackProps extends StackProps {
  readonly stage: StageConfig;
}

/**
 * Where events travel: the custom buses (an archive on those the topology marks `archived`), the
 * schema registry of every domain event, and the SNS topics people subscribe to.
 */
export class EventsStack extends Stack {
  readonly buses: Record<BusName, events.EventBus>;
  readonly topics: Record<TopicName, sns.Topic>;
  readonly schemaRegistry: EventSchemaRegistry;

  constructor(scope: Construct, id: string, props: EventsStackProps) {
    super(scope, id, props);
    const { stage } = props;

    this.buses = mapRecord(buses, (spec: BusSpec, key) => {
      const bus = new events.EventBus(this, `${key}Bus`, {
        eventBusName: physicalName(stage, spec.name),
        description: `sensorbus ${key} bus (${stage.name})`,
      });
      if (spec.archived) {
        bus.archive('Archive', {
          archiveName: physicalName(stage, `${spec.name}-archive`),
          description: `Every event on ${bus.eventBusName}, for replay`,
          eventPattern: { account: [Aws.ACCOUNT_ID] },
          retention: Duration.days(ARCHIVE_RETENTION_DAYS),
        });
      }
      new CfnOutput(this, `${key}BusName`, { value: bus.eventBusName, description: `Event bus ${key}` });
      return bus;
    });

    this.schemaRegistry = new EventSchemaRegistry(this, 'Schemas', {
      registryName: physicalName(stage, 'sensorbus-events'),
    });

    const targetedByRules = new Set(
      rules.flatMap((rule) =>
        rule.targets.flatMap((target) => (target.kind === 'topic' ? [target.topic] : [])),
      ),
    );
    this.topics = mapRecord(topics, (spec: TopicSpec, key) => {
      const masterKey = targetedByRules.has(key)
        ? topicKeyFor(
            this,
            `${key}TopicKey`,
            stage,
            ['events.amazonaws.com'],
            `Encrypts SNS topic ${spec.name}`,
          )
        : kms.Alias.fromAliasName(this, `${key}TopicKey`, 'alias/aws/sns');
      const topic = new sns.Topic(this, `${key}Topic`, {
        topicName: physicalName(stage, spec.name),
        displayName: `sensorbus ${key}`,
        masterKey,
        enforceSSL: true,
      });
      new CfnOutput(this, `${key}TopicArn`, { value: topic.topicArn, description: `SNS topic ${key}` });
      return topic;
    });
  }
}
