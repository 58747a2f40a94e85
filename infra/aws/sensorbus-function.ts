import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { FunctionLimits } from '../api.ts';
import type { Access, FunctionSpec } from '../functions.ts';
import {
  type BusName,
  buses,
  type SecretName,
  secrets,
  type TableName,
  type TopicName,
  tables,
  topics,
} from '../resources.ts';
import type { TableSpec } from '../topology-types.ts';
import { dataRemovalPolicy, lookup, physicalName, REPO_ROOT, type StageConfig } from './config.ts';
import { FUNCTION_BUNDLE } from './function-bundle.ts';
import { acknowledge, acknowledgeWildcardResource } from './nag.ts';

/** The deployed resources a function can be given, keyed as the topology keys them. */
export interface SensorbusResources {
  readonly tables: Readonly<Record<TableName, dynamodb.ITable>>;
  readonly buses: Readonly<Record<BusName, events.IEventBus>>;
  readonly topics: Readonly<Record<TopicName, sns.ITopic>>;
  readonly secrets: Readonly<Record<SecretName, secretsmanager.ISecret>>;
  /** The WebSocket API stage whose connections `websocketManagement` functions post to. */
  readonly websocket?: apigwv2.WebSocketStage;
}

/**
 * The SDK's standard endpoint variable for the API Gateway Management API
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): on AWS it is the
 * WebSocket stage's callback URL, locally the edge. Handlers never set an endpoint in code.
 */
export const MANAGEMENT_ENDPOINT_ENV = 'AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI';

export interface SensorbusFunctionProps {
  readonly stage: StageConfig;
  readonly functionName: string;
  readonly spec: FunctionSpec;
  readonly resources: SensorbusResources;
  /** Its timeout and memory, declared in `infra/api.ts` (`functionLimits`). */
  readonly limits: FunctionLimits;
  /** Settings that are not resources (e.g. the CORS origin the handlers answer with). */
  readonly settings?: Readonly<Record<string, string>>;
}

type TopicAccess = NonNullable<FunctionSpec['topics']>[TopicName];

const grantTable = (table: dynamodb.ITable, access: Access, grantee: iam.IGrantable): void => {
  if (access === 'read') table.grantReadData(grantee);
  else if (access === 'write') table.grantWriteData(grantee);
  else table.grantReadWriteData(grantee);
};

const websocketOf = (resources: SensorbusResources): apigwv2.WebSocketStage => {
  if (!resources.websocket)
    throw new Error('A function manages WebSocket connections but there is no WebSocket API');
  return resources.websocket;
};

/** The environment variables through which a handler finds the resources `spec` declares, and nothing else. */
export const resourceEnvironment = (
  spec: FunctionSpec,
  resources: SensorbusResources,
): Record<string, string> => {
  const environment: Record<string, string> = {};
  for (const name of Object.keys(spec.tables) as TableName[]) {
    const table: TableSpec = tables[name];
    environment[table.env] = lookup(resources.tables, name, 'Table').tableName;
    if (table.retention) environment[table.retention.env] = String(table.retention.days);
  }
  for (const name of [...spec.buses, ...(spec.namesBuses ?? [])]) {
    environment[buses[name].env] = lookup(resources.buses, name, 'Bus').eventBusName;
  }
  for (const name of Object.keys(spec.topics ?? {}) as TopicName[]) {
    environment[topics[name].env] = lookup(resources.topics, name, 'Topic').topicArn;
  }
  for (const name of spec.secrets ?? []) {
    environment[secrets[name].env] = lookup(resources.secrets, name, 'Secret').secretName;
  }
  if (spec.websocketManagement) environment[MANAGEMENT_ENDPOINT_ENV] = websocketOf(resources).callbackUrl;
  return environment;
};

/**
 * Every sensorbus Lambda function: Node.js 22 on arm64, one ESM bundle made by the installed
 * esbuild (no Docker), X-Ray tracing, an explicit log group with retention, and an execution role
 * that holds exactly the grants `infra/api.ts` declares for the function — its own log group, its
 * tables, buses, topics, secrets and WebSocket connections — and no AWS-managed policy. Buses it
 * only names (`namesBuses`) reach its environment without a grant.
 */
export class SensorbusFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SensorbusFunctionProps) {
    super(scope, id);
    const { spec, resources } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: dataRemovalPolicy(props.stage),
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      description: spec.description,
      entry: join(REPO_ROOT, spec.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.limits.memoryMb,
      timeout: Duration.seconds(props.limits.timeoutSeconds),
      ...(props.limits.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.limits.reservedConcurrency }
        : {}),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'sensorbus',
        ...props.settings,
        ...resourceEnvironment(spec, resources),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: FUNCTION_BUNDLE.target,
        mainFields: [...FUNCTION_BUNDLE.mainFields],
        banner: FUNCTION_BUNDLE.banner,
        minify: FUNCTION_BUNDLE.minify,
        sourceMap: FUNCTION_BUNDLE.sourceMap,
        sourcesContent: FUNCTION_BUNDLE.sourcesContent,
        esbuildArgs: {
          '--tree-shaking': String(FUNCTION_BUNDLE.treeShaking),
          ...Object.fromEntries(
            Object.entries(FUNCTION_BUNDLE.alias).map(([module, replacement]) => [
              `--alias:${module}`,
              replacement,
            ]),
          ),
        },
        // The SDK is bundled, not taken from the runtime: see FUNCTION_BUNDLE.
        externalModules: [],
        forceDockerBundling: false,
        logLevel: LogLevel.ERROR,
      },
    });

    for (const [name, access] of Object.entries(spec.tables) as [TableName, Access][]) {
      const table = lookup(resources.tables, name, 'Table');
      grantTable(table, access, this.role);
      if (tables[name].indexes.length > 0) {
        acknowledgeWildcardResource(
          this.role,
          `${table.tableArn}/index/*`,
          `The grant covers the indexes of ${tables[name].name} (queries by index need them), not other tables.`,
        );
      }
    }
    for (const name of spec.buses) lookup(resources.buses, name, 'Bus').grantPutEventsTo(this.role);
    for (const [name, use] of Object.entries(spec.topics ?? {}) as [TopicName, TopicAccess][]) {
      const topic = lookup(resources.topics, name, 'Topic');
      if (use === 'publish') {
        topic.grantPublish(this.role);
        if (topic.masterKey) {
          acknowledge(
            this.role,
            'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
            `Publishing to ${topics[name].name} encrypts with its KMS key; GenerateDataKey* (GenerateDataKey and GenerateDataKeyWithoutPlaintext) is granted on that one key only.`,
          );
        }
      } else {
        topic.grantSubscribe(this.role);
        // The topic's subscriptions by the topic's own name, so the ARN resolves in this stack.
        const subscriptionsOf = `${Stack.of(this).formatArn({
          service: 'sns',
          resource: physicalName(props.stage, topics[name].name),
        })}:*`;
        this.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['sns:ListSubscriptionsByTopic', 'sns:GetSubscriptionAttributes', 'sns:Unsubscribe'],
            resources: [topic.topicArn, subscriptionsOf],
          }),
        );
        acknowledgeWildcardResource(
          this.role,
          subscriptionsOf,
          `Unsubscribe names a subscription of ${topics[name].name} (its ARN is the topic's ARN, a colon and an id known only at run time); the grant covers that topic's subscriptions only.`,
        );
      }
    }
    for (const name of spec.secrets ?? []) {
      const secret = lookup(resources.secrets, name, 'Secret');
      secret.grantRead(this.role);
      acknowledgeWildcardResource(
        this.role,
        `${secret.secretArn}-??????`,
        'Secrets Manager appends six random characters to a secret ARN; "-??????" matches exactly those, for this one secret.',
      );
    }
    if (spec.websocketManagement) {
      const stage = websocketOf(resources);
      stage.grantManagementApiAccess(this.role);
      acknowledgeWildcardResource(
        this.role,
        `${Stack.of(stage).formatArn({ service: 'execute-api', resource: stage.api.apiId })}/${stage.stageName}/*/@connections/*`,
        'Posting to a WebSocket connection: connection ids are only known at run time; the grant is limited to this API and stage.',
      );
    }

    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the handlers are bundled for (esbuild target node22) and tested on; moving to Node.js 24 is its own change.',
    );
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; CDK adds exactly these two actions for active tracing.',
    );
  }
}
