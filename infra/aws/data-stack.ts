import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { type SecretName, secrets, type TableName, tables } from '../resources.ts';
import type { KeySpec, SecretSpec, TableSpec } from '../topology-types.ts';
import { dataRemovalPolicy, isDisposable, mapRecord, physicalName, type StageConfig } from './config.ts';
import { acknowledge } from './nag.ts';
import type { SensorbusResources } from './sensorbus-function.ts';
import { streamArnParameterName } from './stream-consumers.ts';

export interface DataStackProps extends StackProps {
  readonly stage: StageConfig;
}

const attribute = (key: KeySpec): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/**
 * The signing key is 43 characters of `[A-Za-z0-9]`, all of them base64url digits: the handlers
 * decode it with base64url (`signingKeyFrom`) into 32 bytes, carrying about 256 bits of entropy.
 */
export const SIGNING_KEY_LENGTH = 43;

/**
 * What outlives a deployment: the tables and the secrets. Outside the `dev` stage tables have
 * deletion protection and, like the secrets, are retained when the stack is destroyed.
 */
export class DataStack extends Stack {
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly secrets: Record<SecretName, secretsmanager.Secret>;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { stage } = props;

    this.tables = mapRecord(tables, (spec: TableSpec, key) => {
      const table = new dynamodb.Table(this, `${key}Table`, {
        tableName: physicalName(stage, spec.name),
        partitionKey: attribute(spec.partitionKey),
        ...(spec.sortKey ? { sortKey: attribute(spec.sortKey) } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...(spec.timeToLiveAttribute ? { timeToLiveAttribute: spec.timeToLiveAttribute } : {}),
        ...(spec.stream ? { stream: dynamodb.StreamViewType[spec.stream.viewType] } : {}),
        deletionProtection: !isDisposable(stage),
        removalPolicy: dataRemovalPolicy(stage),
      });
      for (const index of spec.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
          projectionType:
            index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
        });
      }
      new CfnOutput(this, `${key}TableName`, { value: table.tableName, description: `Table ${key}` });
      if (spec.stream && table.tableStreamArn) {
        new ssm.StringParameter(this, `${key}StreamArn`, {
          parameterName: streamArnParameterName(stage, spec.name),
          stringValue: table.tableStreamArn,
          description: `The latest stream of table ${key}, for its consumer's event source mapping`,
        });
      }
      return table;
    });

    this.secrets = mapRecord(secrets, (spec: SecretSpec, key) => {
      const secret = new secretsmanager.Secret(this, `${key}Secret`, {
        secretName: physicalName(stage, spec.name),
        description: 'HMAC key (base64url) that signs sensorbus admin and viewer bearer tokens',
        generateSecretString: {
          passwordLength: SIGNING_KEY_LENGTH,
          excludePunctuation: true,
          includeSpace: false,
          requireEachIncludedType: true,
        },
        removalPolicy: dataRemovalPolicy(stage),
      });
      acknowledge(
        secret,
        'AwsSolutions-SMG4',
        'Rotating the signing key invalidates every token it signed, and the authorizers cache the key per execution environment; rotation needs a key-overlap design and is a follow-up.',
      );
      new CfnOutput(this, `${key}SecretArn`, { value: secret.secretArn, description: `Secret ${key}` });
      return secret;
    });
  }
}

/**
 * The data stack's tables and secrets as another stack of the same stage sees them: by their
 * deterministic names, not through CloudFormation exports, so the stateful stack is never pinned
 * by an export in use and deploys independently (the service stack only declares a dependency).
 */
export const dataReferences = (
  scope: Construct,
  stage: StageConfig,
): Pick<SensorbusResources, 'tables' | 'secrets'> => ({
  tables: mapRecord(tables, (spec: TableSpec, key) =>
    dynamodb.Table.fromTableAttributes(scope, `${key}TableRef`, {
      tableName: physicalName(stage, spec.name),
      grantIndexPermissions: spec.indexes.length > 0,
      ...(spec.stream
        ? {
            tableStreamArn: ssm.StringParameter.valueForStringParameter(
              scope,
              streamArnParameterName(stage, spec.name),
            ),
          }
        : {}),
    }),
  ),
  secrets: mapRecord(secrets, (spec: SecretSpec, key) =>
    secretsmanager.Secret.fromSecretNameV2(scope, `${key}SecretRef`, physicalName(stage, spec.name)),
  ),
});
