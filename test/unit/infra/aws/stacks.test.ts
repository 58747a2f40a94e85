import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signingKeyFrom } from '../../../../handlers/lib/auth.ts';
import {
  type Access,
  authorizers,
  FUNCTION_TIMEOUT_SECONDS,
  type FunctionSpec,
  functions,
  httpApi,
  routes,
  STAGE_THROTTLE,
  schedules,
  TRACE_SAMPLING,
  websocketApi,
} from '../../../../infra/api.ts';
import { physicalName, physicalNameOfKey, REPO_ROOT, stageConfig } from '../../../../infra/aws/config.ts';
import {
  ASSET_CACHE_CONTROL,
  ASSETS_FOLDER,
  contentSecurityPolicy,
  PAGE_CACHE_CONTROL,
} from '../../../../infra/aws/dashboard.ts';
import { buildDashboard, DASHBOARD_ROOT } from '../../../../infra/aws/dashboard-build.ts';
import { DataStack } from '../../../../infra/aws/data-stack.ts';
import { FUNCTION_RUNTIME } from '../../../../infra/aws/function-bundle.ts';
import { scheduleDeadLetterQueueName } from '../../../../infra/aws/schedules.ts';
import { buildSensorbus } from '../../../../infra/aws/sensorbus-app.ts';
import { MANAGEMENT_ENDPOINT_ENV } from '../../../../infra/aws/sensorbus-function.ts';
import { permissionOf, tasksOf } from '../../../../infra/aws/state-machines.ts';
import { SILENCE_SCAN_SEGMENTS_ENV } from '../../../../infra/fleet.ts';
import { THROTTLED_RETRY_AFTER_SECONDS } from '../../../../infra/gateway-responses.ts';
import {
  buses,
  ENRICH_DEAD_LETTERS,
  type QueueSpec,
  queues,
  rules,
  type StateMachineSpec,
  type Substitution,
  secrets,
  stateMachines,
  type TableName,
  type TableSpec,
  type TargetSpec,
  tables,
  topics,
} from '../../../../infra/topology.ts';
import { ErrorBody } from '../../../../schemas/error.ts';
import { EVENTS } from '../../../../schemas/events.ts';
import { bundleFunctions } from '../../../bench/bundles.ts';
import {
  CfnTemplate,
  CloudAssembly,
  flatten,
  type Located,
  policyDocuments,
  statementsOf,
} from './cloud-assembly.ts';

const STAGE = stageConfig('dev', undefined);

let outdir = '';
/** The real dashboard build (Vite), made into a temporary folder so `web/dist` is left alone. */
let dashboardFiles = '';
let assembly = new CloudAssembly({});
let synthError: unknown;
let messages: { level: string; text: string }[] = [];

const cdkContext = (): Record<string, unknown> =>
  z
    .object({ context: z.record(z.string(), z.unknown()) })
    .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'))).context;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'sensorbus-cdk-'));
  dashboardFiles = await buildDashboard(DASHBOARD_ROOT, join(outdir, 'dashboard-build'));
  const app = new App({ outdir: join(outdir, 'dev'), context: { ...cdkContext(), stage: STAGE.name } });
  buildSensorbus(app, { dashboardFiles });
  try {
    const cloud = app.synth();
    assembly = new CloudAssembly(
      Object.fromEntries(cloud.stacks.map((stack) => [stack.stackName, CfnTemplate.parse(stack.template)])),
    );
    messages = cloud.stacks.flatMap((stack) =>
      stack.messages.map((message) => ({
        level: message.level,
        text: `${message.id}: ${String(message.entry.data)}`,
      })),
    );
  } catch (error) {
    synthError = error;
  }
}, 300_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

const functionOf = (key: string): Located =>
  assembly.find('AWS::Lambda::Function', 'FunctionName', physicalNameOfKey(STAGE, key));

/** The one resource of a type in the assembly. */
const onlyOf = (type: string): Located => {
  const [only, ...others] = [...assembly.resources(type)];
  if (!only || others.length > 0)
    throw new Error(`Expected one ${type}, found ${others.length + (only ? 1 : 0)}`);
  return only;
};

/** The origin of the stage's dashboard distribution, as `flatten` spells it. */
const dashboardOrigin = (): string =>
  `https://<${onlyOf('AWS::CloudFront::Distribution').logicalId}.DomainName>`;

const identityOf = (kind: 'table' | 'bus' | 'topic' | 'secret', name: string) =>
  `${kind}:${physicalName(STAGE, name)}`;

const declaredQueues: Readonly<Record<string, QueueSpec>> = queues;

const targetIdentity = (target: TargetSpec): string => {
  switch (target.kind) {
    case 'bus':
      return identityOf('bus', buses[target.bus].name);
    case 'topic':
      return identityOf('topic', topics[target.topic].name);
    case 'function':
      return `function:${physicalNameOfKey(STAGE, target.function)}`;
    case 'stateMachine':
      return `state-machine:${physicalName(STAGE, stateMachines[target.stateMachine].name)}`;
    case 'queue':
      return `queue:${physicalName(STAGE, declaredQueues[target.queue]?.name ?? target.queue)}`;
  }
};

const RuleTarget = z.object({
  Id: z.string(),
  Arn: z.unknown(),
  DeadLetterConfig: z.object({ Arn: z.unknown() }).optional(),
  RetryPolicy: z
    .object({ MaximumRetryAttempts: z.number(), MaximumEventAgeInSeconds: z.number() })
    .optional(),
  Input: z.string().optional(),
  InputPath: z.string().optional(),
  InputTransformer: z
    .object({ InputPathsMap: z.record(z.string(), z.string()).optional(), InputTemplate: z.string() })
    .optional(),
});

const ruleOf = (name: string) => {
  const rule = assembly.find('AWS::Events::Rule', 'Name', physicalNameOfKey(STAGE, name));
  return { rule, targets: z.array(RuleTarget).parse(rule.resource.Properties.Targets) };
};

const policiesOfRole = (role: Located): Located[] =>
  [...assembly.resources('AWS::IAM::Policy')].filter(
    (policy) =>
      policy.stack === role.stack &&
      assembly
        .refs(policy.resource.Properties.Roles, policy.stack)
        .some((r) => r.logicalId === role.logicalId),
  );

/** Every resource an Allow statement of the role's policies names, with the actions allowed on it. */
const grantsOf = (role: Located): Map<string, Set<string>> => {
  const granted = new Map<string, Set<string>>();
  for (const policy of policiesOfRole(role)) {
    for (const statement of statementsOf(policy.resource.Properties.PolicyDocument)) {
      if (statement.effect !== 'Allow') continue;
      for (const resource of statement.resources) {
        for (const identity of assembly.identify(resource, role.stack)) {
          const actions = granted.get(identity) ?? new Set<string>();
          for (const action of statement.actions) actions.add(action);
          granted.set(identity, actions);
        }
      }
    }
  }
  return granted;
};

const asyncFailureQueueOf = (fn: Located): string | undefined => {
  const config = [...assembly.resources('AWS::Lambda::EventInvokeConfig')].find((c) =>
    assembly.refs(c.resource.Properties.FunctionName, c.stack).some((r) => r.logicalId === fn.logicalId),
  );
  if (!config) return undefined;
  const destination = z
    .object({ OnFailure: z.object({ Destination: z.unknown() }) })
    .parse(config.resource.Properties.DestinationConfig);
  return assembly.identify(destination.OnFailure.Destination, config.stack)[0];
};

/**
 * What `api.ts` says a function uses: its environment variable → the resource behind it. Buses it
 * only names (`namesBuses`) are in its environment but not in its grants.
 */
const declaredResources = (spec: FunctionSpec, { granted = false } = {}): Map<string, string> => {
  const declared = new Map<string, string>();
  for (const name of Object.keys(spec.tables) as (keyof typeof tables)[]) {
    declared.set(tables[name].env, identityOf('table', tables[name].name));
  }
  for (const name of [...spec.buses, ...(granted ? [] : (spec.namesBuses ?? []))]) {
    declared.set(buses[name].env, identityOf('bus', buses[name].name));
  }
  for (const name of Object.keys(spec.topics ?? {}) as (keyof typeof topics)[]) {
    declared.set(topics[name].env, identityOf('topic', topics[name].name));
  }
  for (const name of spec.secrets ?? [])
    declared.set(secrets[name].env, identityOf('secret', secrets[name].name));
  if (spec.websocketManagement) {
    declared.set(MANAGEMENT_ENDPOINT_ENV, `websocket-api:${physicalName(STAGE, 'sensorbus-websocket')}`);
  }
  return declared;
};

/** Each variable through which a handler finds a resource, and the kind of that resource. */
const RESOURCE_ENV_KINDS = new Map<string, string>([
  ...Object.values(tables).map((spec) => [spec.env, 'table'] as const),
  ...Object.values(buses).map((spec) => [spec.env, 'bus'] as const),
  ...Object.values(topics).map((spec) => [spec.env, 'topic'] as const),
  ...Object.values(secrets).map((spec) => [spec.env, 'secret'] as const),
  [MANAGEMENT_ENDPOINT_ENV, 'websocket-api'],
]);
const RETENTION_ENVS = new Map<string, number>(
  Object.values(tables).flatMap((spec: TableSpec) =>
    spec.retention ? [[spec.retention.env, spec.retention.days]] : [],
  ),
);
/** Variables that configure a handler rather than point it at a resource. */
const SETTINGS = new Set([
  'POWERTOOLS_SERVICE_NAME',
  'ALLOWED_ORIGIN',
  SILENCE_SCAN_SEGMENTS_ENV,
  ...RETENTION_ENVS.keys(),
]);

const Environment = z.object({ Variables: z.record(z.string(), z.unknown()) });

const TABLE_ACTIONS: Record<Access, { allowed: string[]; denied: string[] }> = {
  read: {
    allowed: ['dynamodb:GetItem', 'dynamodb:Query'],
    denied: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  },
  write: {
    allowed: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    denied: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
  },
  readWrite: {
    allowed: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    denied: [],
  },
};

describe('cdk-nag (AWS Solutions)', () => {
  it('synthesises with every finding fixed or acknowledged', () => {
    expect(synthError).toBeUndefined();
    const reportFile = join(outdir, 'dev', VALIDATION_REPORT_FILE);
    const report = existsSync(reportFile)
      ? z
          .object({
            pluginReports: z.array(z.object({ pluginName: z.string(), violations: z.array(z.unknown()) })),
          })
          .parse(JSON.parse(readFileSync(reportFile, 'utf8')))
      : { pluginReports: [] };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
    expect(messages.filter((message) => message.level === 'error' || message.level === 'warning')).toEqual(
      [],
    );
  });

  it('does fail a synthesis on an unacknowledged finding (the check is live)', () => {
    const app = new App({ outdir: join(outdir, 'control') });
    const stack = new Stack(app, 'Control');
    new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});

describe('event rules', () => {
  it('keeps replays away from the dashboards: the to-websocket rule matches only events without a replay-name', () => {
    expect(ruleOf('to-websocket').rule.resource.Properties.EventPattern).toMatchObject({
      'replay-name': [{ exists: false }],
    });
    expect(ruleOf('enrich').rule.resource.Properties.EventPattern).not.toHaveProperty('replay-name');
  });

  it.each(rules.map((rule) => [rule.name, rule] as const))(
    '%s matches exactly the topology pattern on its bus, and has exactly its targets',
    (_, spec) => {
      const { rule, targets } = ruleOf(spec.name);
      expect(rule.resource.Properties.EventPattern).toEqual(JSON.parse(JSON.stringify(spec.eventPattern)));
      expect(assembly.identify(rule.resource.Properties.EventBusName, rule.stack)).toEqual([
        identityOf('bus', buses[spec.bus].name),
      ]);
      expect(targets.map((target) => target.Id)).toEqual(spec.targets.map((target) => target.id));
      spec.targets.forEach((target, index) => {
        const deployed = targets[index];
        expect(assembly.identify(deployed?.Arn, rule.stack)).toEqual([targetIdentity(target)]);
        const input = target.input;
        expect({
          input: deployed?.Input,
          inputPath: deployed?.InputPath,
          inputTransformer: deployed?.InputTransformer,
        }).toEqual({
          input: undefined,
          inputPath: input && 'inputPath' in input ? input.inputPath : undefined,
          inputTransformer:
            input && 'inputTransformer' in input
              ? {
                  InputPathsMap: input.inputTransformer.inputPathsMap,
                  InputTemplate: input.inputTransformer.inputTemplate,
                }
              : undefined,
        });
      });
    },
  );

  const asyncTargets = rules.flatMap((rule) => rule.targets.map((target) => ({ rule, target })));

  it.each(asyncTargets)(
    '$rule.name → $target.id retries as the topology says, then dead-letters to an encrypted queue the rule may write to',
    ({ rule: spec, target }) => {
      const { rule, targets } = ruleOf(spec.name);
      const deployed = targets.find((candidate) => candidate.Id === target.id);
      expect(deployed?.RetryPolicy).toEqual({
        MaximumRetryAttempts: target.retryPolicy.maximumRetryAttempts,
        MaximumEventAgeInSeconds: target.retryPolicy.maximumEventAgeSeconds,
      });
      const [queue, ...others] = assembly.refs(deployed?.DeadLetterConfig?.Arn, rule.stack);
      expect(others).toEqual([]);
      expect(queue?.resource.Type).toBe('AWS::SQS::Queue');
      expect(queue?.resource.Properties.QueueName).toBe(physicalName(STAGE, target.deadLetterQueue));
      expect(
        queue?.resource.Properties.SqsManagedSseEnabled === true ||
          queue?.resource.Properties.KmsMasterKeyId !== undefined,
      ).toBe(true);

      const queuePolicy = [...assembly.resources('AWS::SQS::QueuePolicy')].find((policy) =>
        assembly
          .refs(policy.resource.Properties.Queues, policy.stack)
          .some((r) => r.logicalId === queue?.logicalId),
      );
      const statements = statementsOf(queuePolicy?.resource.Properties.PolicyDocument);
      const eventBridgeMaySend = statements.some(
        (statement) =>
          statement.effect === 'Allow' &&
          statement.actions.includes('sqs:SendMessage') &&
          JSON.stringify(statement.principal) === JSON.stringify({ Service: 'events.amazonaws.com' }) &&
          JSON.stringify(queuePolicy?.resource.Properties.PolicyDocument).includes(
            JSON.stringify({ 'Fn::GetAtt': [rule.logicalId, 'Arn'] }),
          ),
      );
      expect(eventBridgeMaySend).toBe(true);
      expect(statements.some((statement) => statement.effect === 'Deny')).toBe(true);

      if (target.kind === 'function') {
        const fn = functionOf(target.function);
        const config = [...assembly.resources('AWS::Lambda::EventInvokeConfig')].find((c) =>
          assembly
            .refs(c.resource.Properties.FunctionName, c.stack)
            .some((r) => r.logicalId === fn.logicalId),
        );
        expect(config?.resource.Properties.MaximumRetryAttempts).toBeLessThanOrEqual(2);
        expect(asyncFailureQueueOf(fn)).toBe(`queue:${physicalName(STAGE, target.deadLetterQueue)}`);
      }
    },
  );
});

describe('functions', () => {
  const specs = Object.entries(functions) as [string, FunctionSpec][];

  it.each(specs)('%s finds through its environment exactly the resources api.ts declares', (key, spec) => {
    const fn = functionOf(key);
    const variables = Environment.parse(fn.resource.Properties.Environment).Variables;
    const resourceVariables = Object.fromEntries(
      Object.entries(variables)
        .filter(([name]) => RESOURCE_ENV_KINDS.has(name))
        .map(([name, value]) => [name, assembly.identify(value, fn.stack, RESOURCE_ENV_KINDS.get(name))]),
    );
    expect(resourceVariables).toEqual(
      Object.fromEntries([...declaredResources(spec)].map(([name, identity]) => [name, [identity]])),
    );
    expect(
      Object.keys(variables).filter((name) => !RESOURCE_ENV_KINDS.has(name) && !SETTINGS.has(name)),
    ).toEqual([]);
    const retentions = Object.keys(spec.tables).flatMap((name) => {
      const table: TableSpec = tables[name as TableName];
      const { retention } = table;
      return retention ? [[retention.env, String(retention.days)]] : [];
    });
    // Tables kept as long as the readings share their retention's variable.
    expect(
      Object.fromEntries(Object.entries(variables).filter(([name]) => RETENTION_ENVS.has(name))),
    ).toEqual(Object.fromEntries(retentions));
  });

  it.each(specs)('%s has every variable its handler requires at start-up', async (key, spec) => {
    const bundle = await build({
      entryPoints: [join(REPO_ROOT, spec.entry)],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const required = new Set(
      Object.keys(bundle.metafile.inputs).flatMap((file) =>
        [...readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(/require\w*Env\(\s*'(\w+)'/g)].flatMap(
          (match) => (match[1] ? [match[1]] : []),
        ),
      ),
    );
    const variables = Environment.parse(functionOf(key).resource.Properties.Environment).Variables;
    expect([...required].filter((name) => !(name in variables))).toEqual([]);
  });

  it('time out as their callers need: a route within the integration timeout, the idempotent notifier soon, since its lock lasts as long', () => {
    const timeouts = Object.fromEntries(
      specs.map(([key]) => [key, z.number().parse(functionOf(key).resource.Properties.Timeout)]),
    );

    expect(timeouts.ingest).toBe(FUNCTION_TIMEOUT_SECONDS.caller);
    expect(timeouts.alertNotifier).toBe(FUNCTION_TIMEOUT_SECONDS.locking);
    expect(timeouts.announce).toBe(FUNCTION_TIMEOUT_SECONDS.background);
    expect(FUNCTION_TIMEOUT_SECONDS.locking).toBeLessThan(FUNCTION_TIMEOUT_SECONDS.background);
  });

  /** The bundle CDK staged for a function. */
  const deployedCode = (key: string): string => {
    const { S3Key } = z.object({ S3Key: z.string() }).parse(functionOf(key).resource.Properties.Code);
    return readFileSync(join(outdir, 'dev', `asset.${S3Key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
  };

  it.each(specs)(
    '%s bundles the SDK, with the environment credentials Lambda provides instead of its default chain',
    (key) => {
      const code = deployedCode(key);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code).toContain('@aws-sdk/credential-provider-env - fromEnv');
      expect(code).not.toContain('defaultProvider::fromSSO');
    },
  );

  it('deploys, byte for byte, the bundles the bench measures and test/unit/infra/aws/function-bundles.test.ts checks', async () => {
    const bundles = await bundleFunctions();
    try {
      for (const bundle of bundles.bundles) {
        expect(readFileSync(bundle.file, 'utf8'), bundle.name).toBe(deployedCode(bundle.name));
      }
    } finally {
      bundles.remove();
    }
    // Every function bundled at once: CPU-bound, past the default timeout on a loaded machine
  }, 120_000);

  it.each(specs)('%s is granted exactly those resources, with the access api.ts declares', (key, spec) => {
    const fn = functionOf(key);
    const [role] = assembly.refs(fn.resource.Properties.Role, fn.stack);
    if (!role) throw new Error(`${key} has no role`);
    expect(role.resource.Properties.ManagedPolicyArns).toBeUndefined();

    const granted = grantsOf(role);
    const ownLogGroup = assembly.identify(
      z.object({ LogGroup: z.unknown() }).parse(fn.resource.Properties.LoggingConfig).LogGroup,
      fn.stack,
    )[0];
    expect([...(granted.get(ownLogGroup ?? '') ?? [])].sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const consumed = Object.values(tables).flatMap((table: TableSpec) =>
      (table.stream?.consumers ?? [])
        .filter((consumer) => consumer.function === key)
        .map((consumer) => ({ table, consumer })),
    );
    expect([...(granted.get('*') ?? [])].sort()).toEqual([
      ...(consumed.length > 0 ? ['dynamodb:ListStreams'] : []),
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const failureQueue = asyncFailureQueueOf(fn);
    if (failureQueue) expect(granted.get(failureQueue)?.has('sqs:SendMessage')).toBe(true);

    const declared = declaredResources(spec, { granted: true });
    // A stream consumer reads its table's stream and sends skipped batches to its failure queue.
    for (const { table, consumer } of consumed) {
      const stream = `stream:${table.name}`;
      expect([...(granted.get(stream) ?? [])].sort()).toEqual([
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
      ]);
      declared.set(`${table.env} stream`, stream);
      declared.set(`${table.env} stream failures`, `queue:${physicalName(STAGE, consumer.onFailure)}`);
    }
    const grantedResources = [...granted.keys()].filter(
      (identity) => identity !== ownLogGroup && identity !== '*' && identity !== failureQueue,
    );
    const indexes = grantedResources.filter((identity) => identity.endsWith('/index/*'));
    for (const index of indexes) expect(grantedResources).toContain(index.replace('/index/*', ''));
    expect(new Set(grantedResources.filter((identity) => !indexes.includes(identity)))).toEqual(
      new Set(declared.values()),
    );

    for (const [name, access] of Object.entries(spec.tables) as [keyof typeof tables, Access][]) {
      const actions = granted.get(identityOf('table', tables[name].name)) ?? new Set();
      for (const action of TABLE_ACTIONS[access].allowed) expect(actions).toContain(action);
      for (const action of TABLE_ACTIONS[access].denied) expect(actions).not.toContain(action);
    }
    for (const name of spec.buses) {
      expect([...(granted.get(identityOf('bus', buses[name].name)) ?? [])]).toEqual(['events:PutEvents']);
    }
    for (const [name, use] of Object.entries(spec.topics ?? {}) as [keyof typeof topics, string][]) {
      expect([...(granted.get(identityOf('topic', topics[name].name)) ?? [])]).toEqual(
        use === 'publish'
          ? ['sns:Publish']
          : [
              'sns:Subscribe',
              'sns:ListSubscriptionsByTopic',
              'sns:GetSubscriptionAttributes',
              'sns:Unsubscribe',
            ],
      );
    }
    for (const name of spec.secrets ?? []) {
      expect(granted.get(identityOf('secret', secrets[name].name))).toContain(
        'secretsmanager:GetSecretValue',
      );
    }
  });

  it.each(specs)(
    '%s runs Node.js 22 on arm64, traced, logging to its own log group with retention',
    (key) => {
      const fn = functionOf(key);
      expect(fn.resource.Properties).toMatchObject({
        Runtime: FUNCTION_RUNTIME,
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const [logGroup] = assembly.refs(
        z.object({ LogGroup: z.unknown() }).parse(fn.resource.Properties.LoggingConfig).LogGroup,
        fn.stack,
      );
      expect(logGroup?.resource.Properties.RetentionInDays).toBeGreaterThan(0);
    },
  );
});

/**
 * Actions IAM cannot scope to a resource: X-Ray's, and the CloudWatch Logs log-delivery actions
 * Step Functions logging needs (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
 */
const UNSCOPED_ACTIONS = new Set([
  'dynamodb:ListStreams',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

describe('IAM', () => {
  it('allows no action "*" and no "<service>:*" anywhere', () => {
    const broad: string[] = [];
    for (const { where, document } of policyDocuments(assembly)) {
      for (const statement of statementsOf(document)) {
        if (statement.effect !== 'Allow') continue;
        for (const action of statement.actions) {
          if (action === '*' || /^[\w-]+:\*$/.test(action)) broad.push(`${where}: ${action}`);
        }
      }
    }
    expect(broad).toEqual([]);
  });

  it('allows resource "*" only for actions that have no resource-level permissions', () => {
    const starred: string[] = [];
    for (const { where, document, kind } of policyDocuments(assembly)) {
      if (kind === 'AWS::KMS::Key') continue; // in a key policy, "*" means this key
      for (const statement of statementsOf(document)) {
        if (statement.effect !== 'Allow' || !statement.resources.includes('*')) continue;
        for (const action of statement.actions) {
          if (!UNSCOPED_ACTIONS.has(action)) starred.push(`${where}: ${action}`);
        }
      }
    }
    expect(starred).toEqual([]);
  });
});

describe('tables', () => {
  const KeyAttribute = z.object({ AttributeName: z.string(), KeyType: z.string() });
  const Index = z.object({
    IndexName: z.string(),
    KeySchema: z.array(KeyAttribute),
    Projection: z.object({ ProjectionType: z.string() }),
  });
  const keysOf = (partition: { name: string }, sort?: { name: string }) => [
    { AttributeName: partition.name, KeyType: 'HASH' },
    ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' }] : []),
  ];

  it.each(Object.entries(tables))(
    '%s is on-demand, recoverable to a point in time, with its keys, indexes and TTL',
    (_, spec) => {
      const table = assembly.find('AWS::DynamoDB::Table', 'TableName', physicalName(STAGE, spec.name));
      const properties = table.resource.Properties;
      expect(properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(properties.KeySchema).toEqual(
        keysOf(spec.partitionKey, 'sortKey' in spec ? spec.sortKey : undefined),
      );
      expect(properties.TimeToLiveSpecification).toEqual(
        'timeToLiveAttribute' in spec
          ? { AttributeName: spec.timeToLiveAttribute, Enabled: true }
          : undefined,
      );
      const indexes = z.array(Index).default([]).parse(properties.GlobalSecondaryIndexes);
      expect(indexes).toEqual(
        spec.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: keysOf(index.partitionKey, 'sortKey' in index ? index.sortKey : undefined),
          Projection: { ProjectionType: index.projection },
        })),
      );
    },
  );

  it('are disposable in dev, protected from deletion and retained in any other stage', () => {
    const app = new App();
    const prod = new DataStack(app, 'prod-data', { stage: stageConfig('prod', undefined) });
    const prodTemplate = CfnTemplate.parse(app.synth().getStackByName(prod.stackName).template);
    const prodTables = Object.values(prodTemplate.Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(prodTables).toHaveLength(Object.keys(tables).length);
    for (const table of prodTables) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { DeletionProtectionEnabled: true },
      });
    }
    for (const secret of Object.values(prodTemplate.Resources).filter(
      (r) => r.Type === 'AWS::SecretsManager::Secret',
    )) {
      expect(secret.DeletionPolicy).toBe('Retain');
    }
    for (const { resource } of assembly.resources('AWS::DynamoDB::Table')) {
      expect(resource).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: { DeletionProtectionEnabled: false },
      });
    }
  });
});

describe('secrets', () => {
  it.each(Object.entries(secrets))(
    '%s is generated in a shape the handlers decode into a signing key of at least 32 bytes',
    (_, spec) => {
      const secret = assembly.find('AWS::SecretsManager::Secret', 'Name', physicalName(STAGE, spec.name));
      const generated = z
        .object({
          PasswordLength: z.number(),
          ExcludePunctuation: z.literal(true),
          IncludeSpace: z.literal(false),
        })
        .parse(secret.resource.Properties.GenerateSecretString);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      const sample = Array.from(
        randomBytes(generated.PasswordLength),
        (byte) => alphabet[byte % alphabet.length],
      ).join('');
      expect(signingKeyFrom(sample).length).toBeGreaterThanOrEqual(32);
    },
  );
});

describe('REST API', () => {
  const Method = z.object({
    HttpMethod: z.string(),
    ResourceId: z.unknown(),
    AuthorizationType: z.string().optional(),
    AuthorizerId: z.unknown().optional(),
    Integration: z
      .object({ Type: z.string(), Uri: z.unknown().optional(), ResponseTransferMode: z.string().optional() })
      .optional(),
  });

  const pathOf = (resourceId: unknown, stack: string): string => {
    const [resource] = assembly.refs(resourceId, stack);
    if (!resource || resource.resource.Type === 'AWS::ApiGateway::RestApi') return '';
    const properties = z
      .object({ ParentId: z.unknown(), PathPart: z.string() })
      .parse(resource.resource.Properties);
    return `${pathOf(properties.ParentId, stack)}/${properties.PathPart}`;
  };

  const methods = () =>
    [...assembly.resources('AWS::ApiGateway::Method')].map((located) => {
      const method = Method.parse(located.resource.Properties);
      return { located, method, path: pathOf(method.ResourceId, located.stack) || '/' };
    });

  it('serves exactly the routes of api.ts (and CORS preflights)', () => {
    const served = methods()
      .filter(({ method }) => method.HttpMethod !== 'OPTIONS')
      .map(({ method, path }) => `${method.HttpMethod} ${path}`);
    expect(served.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
    const preflights = methods()
      .filter(({ method }) => method.HttpMethod === 'OPTIONS')
      .map(({ path }) => path);
    for (const route of routes) expect(preflights).toContain(route.path);
  });

  it.each(routes)('$method $path runs $function behind the $authorizer authorizer', (route) => {
    const served = methods().find(
      ({ method, path }) => method.HttpMethod === route.method && path === route.path,
    );
    if (!served) throw new Error(`${route.method} ${route.path} is not served`);
    const { method, located } = served;
    expect(method.AuthorizationType).toBe('CUSTOM');
    expect(method.Integration?.Type).toBe('AWS_PROXY');
    expect(assembly.refs(method.Integration?.Uri, located.stack).map((r) => assembly.identity(r))).toEqual([
      `function:${physicalNameOfKey(STAGE, route.function)}`,
    ]);
    // A streaming route invokes with InvokeWithResponseStream, whose integration URI differs.
    const streams = route.responseTransferMode === 'STREAM';
    expect(method.Integration?.ResponseTransferMode ?? 'BUFFERED').toBe(streams ? 'STREAM' : 'BUFFERED');
    expect(JSON.stringify(method.Integration?.Uri).includes('/response-streaming-invocations')).toBe(streams);
    const [authorizer] = assembly.refs(method.AuthorizerId, located.stack);
    const spec = authorizers[route.authorizer];
    expect(authorizer?.resource.Properties).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: `method.request.header.${spec.identityHeader}`,
      AuthorizerResultTtlInSeconds: spec.cacheTtlSeconds,
    });
    const invoked = assembly.refs(authorizer?.resource.Properties.AuthorizerUri, located.stack);
    expect(new Set(invoked.map((r) => assembly.identity(r)))).toEqual(
      new Set([`function:${physicalNameOfKey(STAGE, spec.function)}`]),
    );
  });

  it('is throttled, traced and access-logged on its stage', () => {
    const [stage, ...others] = [...assembly.resources('AWS::ApiGateway::Stage')];
    expect(others).toEqual([]);
    expect(stage?.resource.Properties).toMatchObject({
      StageName: STAGE.name,
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: expect.anything() },
      MethodSettings: [
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: STAGE_THROTTLE.rest.rateLimit,
          ThrottlingBurstLimit: STAGE_THROTTLE.rest.burstLimit,
          LoggingLevel: 'ERROR',
        }),
      ],
    });
  });

  it.each([
    ['THROTTLED', "the stage's throttle"],
    ['INTEGRATION_FAILURE', "Lambda's TooManyRequestsException"],
    ['AUTHORIZER_CONFIGURATION_ERROR', "Lambda's TooManyRequestsException for the authorizer"],
  ])('tells a client refused by %s (%s) when to retry (Retry-After), as the local gateway does', (type) => {
    const response = GatewayResponse.parse(
      assembly.find('AWS::ApiGateway::GatewayResponse', 'ResponseType', type).resource.Properties,
    );
    expect(response.ResponseParameters['gatewayresponse.header.Retry-After']).toBe(
      `'${THROTTLED_RETRY_AFTER_SECONDS}'`,
    );
  });

  const GatewayResponse = z.object({
    ResponseType: z.string(),
    StatusCode: z.string().optional(),
    ResponseParameters: z.record(z.string(), z.unknown()),
    ResponseTemplates: z.object({ 'application/json': z.string() }),
  });

  it.each([
    ['UNAUTHORIZED', '401', 'Unauthorized'],
    ['ACCESS_DENIED', '403', 'Forbidden'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'NotFound'],
    ['REQUEST_TOO_LARGE', '413', 'PayloadTooLarge'],
    ['THROTTLED', '429', 'TooManyRequests'],
    ['INTEGRATION_FAILURE', '429', 'TooManyRequests'],
    ['AUTHORIZER_CONFIGURATION_ERROR', '429', 'TooManyRequests'],
    ['DEFAULT_4XX', undefined, 'BadRequest'],
    ['DEFAULT_5XX', undefined, 'InternalError'],
  ])(
    'answers %s as %s with the contract error body (code %s, details always present) the dashboard may read',
    (type, status, code) => {
      const response = GatewayResponse.parse(
        assembly.find('AWS::ApiGateway::GatewayResponse', 'ResponseType', type).resource.Properties,
      );
      expect(response.StatusCode).toBe(status);
      expect(flatten(response.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin'])).toBe(
        `'${dashboardOrigin()}'`,
      );
      const rendered = response.ResponseTemplates['application/json'].replaceAll(
        '$context.error.messageString',
        '"what API Gateway says"',
      );
      const body = ErrorBody.parse(JSON.parse(rendered));
      expect(body.error.code).toBe(code);
      if (type === 'UNAUTHORIZED') {
        expect(new Set(body.error.details.map((detail) => detail.path))).toEqual(
          new Set(Object.values(authorizers).map((authorizer) => authorizer.identityHeader.toLowerCase())),
        );
      } else if (type === 'REQUEST_TOO_LARGE') {
        expect(body.error.details).toEqual([{ path: '', message: expect.stringContaining('bytes') }]);
      } else {
        expect(body.error.details).toEqual([]);
      }
    },
  );
});

/** The API Gateway v2 routes of the API with this protocol (`HTTP` or `WEBSOCKET`). */
const v2Routes = (protocol: 'HTTP' | 'WEBSOCKET') =>
  [...assembly.resources('AWS::ApiGatewayV2::Route')].filter(
    (route) =>
      assembly.refs(route.resource.Properties.ApiId, route.stack)[0]?.resource.Properties.ProtocolType ===
      protocol,
  );

describe('device API (HTTP API)', () => {
  it('serves exactly the routes of httpApi, each a payload format 2.0 proxy to its function with no authorizer', () => {
    const deployed = v2Routes('HTTP');
    expect(deployed.map((route) => route.resource.Properties.RouteKey).sort()).toEqual(
      httpApi.routes.map((route) => `${route.method} ${route.path}`).sort(),
    );
    for (const spec of httpApi.routes) {
      const route = deployed.find((r) => r.resource.Properties.RouteKey === `${spec.method} ${spec.path}`);
      if (!route) throw new Error(`${spec.method} ${spec.path} is not served`);
      // The function checks the device key itself, so that a refused key is a 401 (see infra/api.ts).
      expect(route.resource.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
      expect(route.resource.Properties.AuthorizerId).toBeUndefined();
      const [integration] = assembly.refs(route.resource.Properties.Target, route.stack);
      expect(integration?.resource.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: httpApi.payloadFormatVersion,
      });
      expect(
        assembly
          .refs(integration?.resource.Properties.IntegrationUri, route.stack)
          .map((r) => assembly.identity(r)),
      ).toEqual([`function:${physicalNameOfKey(STAGE, spec.function)}`]);
    }
  });

  it('is throttled as the REST stage and access-logged on its $default stage, with no CORS', () => {
    const stages = [...assembly.resources('AWS::ApiGatewayV2::Stage')].filter(
      (stage) =>
        assembly.refs(stage.resource.Properties.ApiId, stage.stack)[0]?.resource.Properties.ProtocolType ===
        'HTTP',
    );
    expect(stages).toHaveLength(1);
    expect(stages[0]?.resource.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: STAGE_THROTTLE.rest.rateLimit,
        ThrottlingBurstLimit: STAGE_THROTTLE.rest.burstLimit,
      },
      AccessLogSettings: {
        DestinationArn: expect.anything(),
        Format: expect.stringContaining('$context.requestId'),
      },
    });
    const [api] = assembly.refs(stages[0]?.resource.Properties.ApiId, stages[0]?.stack ?? '');
    expect(api?.resource.Properties.CorsConfiguration).toBeUndefined();
  });
});

describe('WebSocket API', () => {
  it('routes each route key to its function, authorizing $connect on the query-string token', () => {
    const routesDeployed = v2Routes('WEBSOCKET');
    expect(routesDeployed.map((r) => r.resource.Properties.RouteKey).sort()).toEqual(
      websocketApi.routes.map((route) => route.routeKey).sort(),
    );
    for (const spec of websocketApi.routes) {
      const route = routesDeployed.find((r) => r.resource.Properties.RouteKey === spec.routeKey);
      if (!route) throw new Error(`${spec.routeKey} is not routed`);
      const [integration] = assembly.refs(route.resource.Properties.Target, route.stack);
      expect(
        assembly
          .refs(integration?.resource.Properties.IntegrationUri, route.stack)
          .map((r) => assembly.identity(r)),
      ).toEqual([`function:${physicalNameOfKey(STAGE, spec.function)}`]);
      if (spec.routeKey === '$connect') {
        expect(route.resource.Properties.AuthorizationType).toBe('CUSTOM');
        const [authorizer] = assembly.refs(route.resource.Properties.AuthorizerId, route.stack);
        expect(authorizer?.resource.Properties.IdentitySource).toEqual([
          `route.request.querystring.${websocketApi.authorizer.identityQueryString}`,
        ]);
      }
    }
  });
});

describe('workflows', () => {
  it.each(Object.entries(stateMachines) as [string, StateMachineSpec][])(
    '%s runs its ASL with every placeholder bound, and may do exactly what its tasks do',
    (_, spec) => {
      const machine = assembly.find(
        'AWS::StepFunctions::StateMachine',
        'StateMachineName',
        physicalName(STAGE, spec.name),
      );
      expect(JSON.parse(String(machine.resource.Properties.DefinitionString))).toEqual(
        JSON.parse(readFileSync(join(REPO_ROOT, spec.definitionFile), 'utf8')),
      );
      expect(machine.resource.Properties).toMatchObject({
        StateMachineType: spec.type,
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: spec.logLevel, IncludeExecutionData: true },
      });
      const substitutions = z
        .record(z.string(), z.unknown())
        .parse(machine.resource.Properties.DefinitionSubstitutions);
      const expectedOf = (substitution: Substitution): string =>
        'table' in substitution
          ? identityOf('table', tables[substitution.table].name)
          : 'bus' in substitution
            ? identityOf('bus', buses[substitution.bus].name)
            : 'queue' in substitution
              ? `queue:${physicalName(STAGE, substitution.queue)}`
              : `function:${physicalNameOfKey(STAGE, substitution.function)}`;
      expect(
        Object.fromEntries(
          Object.entries(substitutions).map(([name, value]) => [
            name,
            assembly.identify(value, machine.stack, 'table')[0] ?? assembly.identify(value, machine.stack)[0],
          ]),
        ),
      ).toEqual(
        Object.fromEntries(
          Object.entries(spec.substitutions).map(([name, substitution]) => [name, expectedOf(substitution)]),
        ),
      );

      const [role] = assembly.refs(machine.resource.Properties.RoleArn, machine.stack);
      if (!role) throw new Error('no role');
      const granted = Object.fromEntries(
        [...grantsOf(role)]
          .filter(([identity]) => identity !== '*')
          .map(([identity, actions]) => [identity, [...actions].sort()]),
      );
      const text = readFileSync(join(REPO_ROOT, spec.definitionFile), 'utf8');
      const expected: Record<string, string[]> = {};
      for (const task of tasksOf(JSON.parse(text).States)) {
        const permission = permissionOf(task, spec.substitutions);
        const substitution = permission.substitution;
        const identities = substitution
          ? [expectedOf(substitution)]
          : spec.putsEventsOn.map((bus) => identityOf('bus', buses[bus].name));
        for (const identity of identities) {
          expected[identity] = [...new Set([...(expected[identity] ?? []), ...permission.actions])].sort();
        }
      }
      expect(granted).toEqual(expected);
    },
  );
});

describe('enrichment dead letters', () => {
  it('parks what enrich-reading gives up on in the encrypted enrich queue, which its role may write to and an alarm watches', () => {
    const queueIdentity = `queue:${physicalName(STAGE, ENRICH_DEAD_LETTERS)}`;
    const queue = assembly.find('AWS::SQS::Queue', 'QueueName', physicalName(STAGE, ENRICH_DEAD_LETTERS));
    const machine = assembly.find(
      'AWS::StepFunctions::StateMachine',
      'StateMachineName',
      physicalName(STAGE, stateMachines.enrichReading.name),
    );
    const substitutions = z
      .record(z.string(), z.unknown())
      .parse(machine.resource.Properties.DefinitionSubstitutions);
    const [role] = assembly.refs(machine.resource.Properties.RoleArn, machine.stack);
    if (!role) throw new Error('no role');
    const alarmed = [...assembly.resources('AWS::CloudWatch::Alarm')].filter(
      ({ resource, stack }) =>
        resource.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        assembly.identify(
          z.array(z.object({ Value: z.unknown() })).parse(resource.Properties.Dimensions)[0]?.Value,
          stack,
        )[0] === queueIdentity,
    );

    expect(queue.resource.Properties.SqsManagedSseEnabled).toBe(true);
    expect(assembly.identify(substitutions.DeadLetterQueueUrl, machine.stack)).toEqual([queueIdentity]);
    expect([...(grantsOf(role).get(queueIdentity) ?? [])]).toEqual(['sqs:SendMessage']);
    expect(alarmed).toHaveLength(1);
  });
});

describe('schedules', () => {
  it.each(Object.entries(schedules))(
    '%s runs its function every N minutes with a role that may invoke only it, and a dead-letter queue',
    (key, spec) => {
      const schedule = assembly.find('AWS::Scheduler::Schedule', 'Name', physicalNameOfKey(STAGE, key));
      const n = spec.everyMinutes;
      expect(schedule.resource.Properties.ScheduleExpression).toBe(
        `rate(${n} ${n === 1 ? 'minute' : 'minutes'})`,
      );
      const target = z
        .object({ Arn: z.unknown(), RoleArn: z.unknown(), DeadLetterConfig: z.object({ Arn: z.unknown() }) })
        .parse(schedule.resource.Properties.Target);
      const fn = `function:${physicalNameOfKey(STAGE, spec.function)}`;
      const queue = `queue:${physicalName(STAGE, scheduleDeadLetterQueueName(key))}`;
      expect(assembly.identify(target.Arn, schedule.stack)).toEqual([fn]);
      expect(assembly.identify(target.DeadLetterConfig.Arn, schedule.stack)).toEqual([queue]);
      const [role] = assembly.refs(target.RoleArn, schedule.stack);
      if (!role) throw new Error('no role');
      expect(JSON.stringify(role.resource.Properties.AssumeRolePolicyDocument)).toContain(
        'scheduler.amazonaws.com',
      );
      expect(
        Object.fromEntries([...grantsOf(role)].map(([identity, actions]) => [identity, [...actions]])),
      ).toEqual({
        [fn]: ['lambda:InvokeFunction'],
        [queue]: ['sqs:SendMessage'],
      });
    },
  );
});

describe('events, topics and alarms', () => {
  it('archives exactly the buses the topology marks archived', () => {
    const archived = [...assembly.resources('AWS::Events::Archive')].flatMap((archive) =>
      assembly.identify(archive.resource.Properties.SourceArn, archive.stack),
    );
    expect(archived.sort()).toEqual(
      Object.values(buses)
        .filter((bus) => bus.archived)
        .map((bus) => identityOf('bus', bus.name))
        .sort(),
    );
    // Kept as long as the readings they announce, not the year an archive defaults to in examples.
    for (const { resource } of assembly.resources('AWS::Events::Archive'))
      expect(resource.Properties.RetentionDays).toBe(tables.readings.retention.days);
  });

  it('samples traces by one X-Ray rule whose service name covers every function, workflow and the REST API', () => {
    const [rule, ...others] = [...assembly.resources('AWS::XRay::SamplingRule')];
    expect(others).toEqual([]);
    const sampling = rule?.resource.Properties.SamplingRule as { ServiceName?: string } | undefined;
    expect(sampling).toMatchObject({
      ReservoirSize: TRACE_SAMPLING.reservoirPerSecond,
      FixedRate: TRACE_SAMPLING.fixedRate,
      ServiceType: '*',
    });
    // X-Ray service names match as globs: `*` any run of characters.
    const covered = new RegExp(`^${String(sampling?.ServiceName).replaceAll('*', '.*')}$`);
    const named = [
      ...[...assembly.resources('AWS::Lambda::Function')]
        .map(({ resource }) => resource.Properties.FunctionName)
        .filter((name): name is string => typeof name === 'string' && name.includes('sensorbus')),
      ...[...assembly.resources('AWS::StepFunctions::StateMachine')].map(
        ({ resource }) => resource.Properties.StateMachineName,
      ),
      ...[...assembly.resources('AWS::ApiGateway::RestApi')].map(
        ({ resource }) => `${resource.Properties.Name}/${STAGE.name}`,
      ),
    ];
    expect(named.length).toBeGreaterThan(Object.keys(functions).length);
    for (const name of named) expect(name).toMatch(covered);
  });

  it('registers a JSON Schema draft-04 document for every domain event', () => {
    const registered = [...assembly.resources('AWS::EventSchemas::Schema')].map(({ resource }) => ({
      name: resource.Properties.SchemaName,
      type: resource.Properties.Type,
      document: z
        .object({ $schema: z.string(), properties: z.record(z.string(), z.unknown()) })
        .parse(JSON.parse(String(resource.Properties.Content))),
    }));
    expect(registered.map((schema) => schema.name).sort()).toEqual(
      Object.values(EVENTS)
        .map((event) => `${event.source}@${event.detailType}`)
        .sort(),
    );
    for (const schema of registered) {
      expect(schema.type).toBe('JSONSchemaDraft4');
      expect(schema.document.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(schema.document.properties.detail).toBeDefined();
    }
  });

  it('encrypts every SNS topic and refuses publishing without TLS', () => {
    for (const topic of assembly.resources('AWS::SNS::Topic')) {
      expect(topic.resource.Properties.KmsMasterKeyId).toBeDefined();
      const policy = [...assembly.resources('AWS::SNS::TopicPolicy')].find((p) =>
        assembly.refs(p.resource.Properties.Topics, p.stack).some((r) => r.logicalId === topic.logicalId),
      );
      expect(JSON.stringify(policy?.resource.Properties.PolicyDocument)).toContain('aws:SecureTransport');
    }
  });

  it('alarms the operators on the first dead letter of every queue and on any function error', () => {
    const operatorTopic = `topic:${physicalName(STAGE, 'sensorbus-operator-alarms')}`;
    const alarms = [...assembly.resources('AWS::CloudWatch::Alarm')].map(({ resource, stack }) => ({
      metric: resource.Properties.MetricName,
      subject: assembly.identify(
        z.array(z.object({ Value: z.unknown() })).parse(resource.Properties.Dimensions)[0]?.Value,
        stack,
      )[0],
      threshold: resource.Properties.Threshold,
      comparison: resource.Properties.ComparisonOperator,
      actions: assembly.identify(resource.Properties.AlarmActions, stack),
    }));
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        actions: [operatorTopic],
      });
    }
    const queues = [...assembly.resources('AWS::SQS::Queue')].map((queue) => assembly.identity(queue));
    expect(
      alarms
        .filter((alarm) => alarm.metric === 'ApproximateNumberOfMessagesVisible')
        .map((alarm) => alarm.subject)
        .sort(),
    ).toEqual(queues.sort());
    expect(
      alarms
        .filter((alarm) => alarm.metric === 'Errors')
        .map((alarm) => alarm.subject)
        .sort(),
    ).toEqual(
      Object.keys(functions)
        .filter(
          (key) =>
            !Object.values(authorizers).some((spec) => spec.function === key) &&
            key !== websocketApi.authorizer.function,
        )
        .map((key) => `function:${physicalNameOfKey(STAGE, key)}`)
        .sort(),
    );
    expect(alarms.filter((alarm) => alarm.metric === '5XXError')).toHaveLength(1);
    // The device API's: an HTTP API counts its server errors as `5xx`.
    expect(alarms.filter((alarm) => alarm.metric === '5xx')).toHaveLength(1);

    const operatorTopicResource = assembly.find(
      'AWS::SNS::Topic',
      'TopicName',
      physicalName(STAGE, 'sensorbus-operator-alarms'),
    );
    const [key] = assembly.refs(
      operatorTopicResource.resource.Properties.KmsMasterKeyId,
      operatorTopicResource.stack,
    );
    const cloudWatchMayEncrypt = statementsOf(key?.resource.Properties.KeyPolicy).some(
      (statement) =>
        JSON.stringify(statement.principal).includes('cloudwatch.amazonaws.com') &&
        statement.actions.includes('kms:GenerateDataKey*'),
    );
    expect(cloudWatchMayEncrypt).toBe(true);
  });

  it('outputs the API and dashboard URLs, bus names, topic ARNs, secret ARNs and table names', () => {
    const outputs = Object.entries(assembly.templates).flatMap(([stack, template]) =>
      Object.entries(template.Outputs)
        .filter(([name]) => !name.startsWith('ExportsOutput'))
        .map(([name, output]) => ({ name, identities: assembly.identify(output.Value, stack) })),
    );
    expect(outputs.map((output) => output.name)).toEqual(
      expect.arrayContaining([
        'RestApiUrl',
        'IngestApiUrl',
        'WebSocketUrl',
        'DashboardUrl',
        'OperatorAlarmsTopicArn',
      ]),
    );
    expect(flatten(assembly.templates['dev-sensorbus-service']?.Outputs.DashboardUrl?.Value)).toBe(
      dashboardOrigin(),
    );
    const named = new Set(outputs.flatMap((output) => output.identities));
    for (const table of Object.values(tables)) expect(named).toContain(identityOf('table', table.name));
    for (const bus of Object.values(buses)) expect(named).toContain(identityOf('bus', bus.name));
    for (const topic of Object.values(topics)) expect(named).toContain(identityOf('topic', topic.name));
    for (const secret of Object.values(secrets)) expect(named).toContain(identityOf('secret', secret.name));
  });
});

describe('templates', () => {
  it('have no dependency cycle, which CloudFormation would only refuse at deploy time', () => {
    for (const stack of Object.keys(assembly.templates)) expect(assembly.cycles(stack)).toEqual([]);
  });
});

/** Every file below a folder, as `a/b.js` paths. */
const filesBelow = (folder: string, prefix = ''): string[] =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesBelow(join(folder, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );

describe('dashboard', () => {
  const DistributionConfig = z.object({
    DefaultRootObject: z.string(),
    DefaultCacheBehavior: z.object({
      ViewerProtocolPolicy: z.string(),
      AllowedMethods: z.array(z.string()),
      ResponseHeadersPolicyId: z.unknown(),
    }),
    Origins: z.array(
      z.object({
        DomainName: z.unknown(),
        OriginAccessControlId: z.unknown(),
        S3OriginConfig: z.object({ OriginAccessIdentity: z.string() }),
      }),
    ),
    Logging: z.object({ Bucket: z.unknown() }),
    CustomErrorResponses: z.unknown().optional(),
  });
  const distribution = () => onlyOf('AWS::CloudFront::Distribution');
  const distributionConfig = () =>
    DistributionConfig.parse(distribution().resource.Properties.DistributionConfig);

  const siteBucket = (): Located => {
    const [origin, ...others] = distributionConfig().Origins;
    expect(others).toEqual([]);
    const [bucket] = assembly.refs(origin?.DomainName, distribution().stack);
    if (bucket?.resource.Type !== 'AWS::S3::Bucket') throw new Error('The origin is not a bucket');
    return bucket;
  };
  const logsBucket = (): Located => {
    const [bucket] = assembly.refs(distributionConfig().Logging.Bucket, distribution().stack);
    if (bucket?.resource.Type !== 'AWS::S3::Bucket') throw new Error('The distribution logs to no bucket');
    return bucket;
  };

  /** A URL as the browser sees it: a stage the value refers to (`<RestApiDeploymentStage…>`) by its name. */
  const urlText = (value: unknown, stack: string): string =>
    flatten(value).replace(/<(\w+)>/g, (reference, logicalId: string) => {
      const resource = assembly.templates[stack]?.Resources[logicalId];
      return resource?.Type === 'AWS::ApiGateway::Stage' ? String(resource.Properties.StageName) : reference;
    });
  const outputUrl = (name: string): string => {
    const stack = distribution().stack;
    return urlText(assembly.templates[stack]?.Outputs[name]?.Value, stack);
  };

  const Deployment = z.object({
    SourceObjectKeys: z.array(z.string()),
    SourceMarkers: z.array(z.record(z.string(), z.unknown())).default([]),
    DestinationBucketName: z.unknown(),
    DestinationBucketKeyPrefix: z.string().optional(),
    Prune: z.boolean(),
    Exclude: z.array(z.string()).optional(),
    SystemMetadata: z.object({ 'cache-control': z.string() }),
    DistributionId: z.unknown().optional(),
    DistributionPaths: z.array(z.string()).optional(),
  });
  const deployments = () =>
    [...assembly.resources('Custom::CDKBucketDeployment')].map((located) => ({
      located,
      deployment: Deployment.parse(located.resource.Properties),
    }));
  /** The files a deployment copies, source by source, as the synthesis staged them. */
  const sourceFiles = (deployment: z.infer<typeof Deployment>): Map<string, string>[] =>
    deployment.SourceObjectKeys.map((key) => {
      const staged = join(outdir, 'dev', `asset.${key.replace(/\.zip$/, '')}`);
      return new Map(filesBelow(staged).map((file) => [file, join(staged, file)]));
    });

  it('is built as index.html plus content-hashed files under assets/, which the deployments cache differently', () => {
    expect(readdirSync(dashboardFiles).sort()).toEqual([ASSETS_FOLDER, 'index.html']);
    const assets = filesBelow(join(dashboardFiles, ASSETS_FOLDER));
    expect(assets.length).toBeGreaterThan(0);
    for (const file of assets) expect(file).toMatch(/-[\w-]{8,}\.\w+(\.map)?$/);
    const index = readFileSync(join(dashboardFiles, 'index.html'), 'utf8');
    const referenced = [...index.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].flatMap((match) =>
      match[1] ? [match[1]] : [],
    );
    expect(referenced.length).toBeGreaterThan(0);
    for (const file of referenced) expect(assets.map((asset) => `${ASSETS_FOLDER}/${asset}`)).toContain(file);
  });

  it('keeps the files in a private, encrypted, access-logged bucket that only the distribution reads, over TLS', () => {
    const bucket = siteBucket();
    expect(bucket.resource.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    const logging = z
      .object({ DestinationBucketName: z.unknown() })
      .parse(bucket.resource.Properties.LoggingConfiguration);
    expect(assembly.refs(logging.DestinationBucketName, bucket.stack)).toEqual([logsBucket()]);

    const [origin] = distributionConfig().Origins;
    expect(origin?.S3OriginConfig.OriginAccessIdentity).toBe('');
    const [accessControl] = assembly.refs(origin?.OriginAccessControlId, distribution().stack);
    expect(accessControl?.resource.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });

    const policy = [...assembly.resources('AWS::S3::BucketPolicy')].find((candidate) =>
      assembly
        .refs(candidate.resource.Properties.Bucket, candidate.stack)
        .some((r) => r.logicalId === bucket.logicalId),
    );
    const statements = statementsOf(policy?.resource.Properties.PolicyDocument);
    expect(statements).toContainEqual(
      expect.objectContaining({
        effect: 'Deny',
        actions: ['s3:*'],
        condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const readers = statements.filter(
      (statement) => statement.effect === 'Allow' && JSON.stringify(statement.principal).includes('Service'),
    );
    expect(
      readers.map(({ principal, actions, resources, condition }) => ({
        principal,
        actions,
        resources,
        condition,
      })),
    ).toEqual([
      {
        principal: { Service: 'cloudfront.amazonaws.com' },
        actions: ['s3:GetObject'],
        resources: [expect.anything()],
        condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      },
    ]);
    const [reader] = readers;
    expect(flatten(reader?.resources[0])).toBe(`<${bucket.logicalId}.Arn>/*`);
    expect(
      flatten(
        z.object({ StringEquals: z.record(z.string(), z.unknown()) }).parse(reader?.condition).StringEquals[
          'AWS:SourceArn'
        ],
      ),
    ).toBe(`arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${distribution().logicalId}>`);
    // Besides CloudFront, only the dev stage's empty-on-destroy provider may touch the bucket.
    for (const statement of statements.filter((s) => s.effect === 'Allow' && !readers.includes(s))) {
      const principals = assembly.refs(statement.principal, bucket.stack).map((r) => r.logicalId);
      expect(principals).toEqual([
        expect.stringMatching(/^CustomS3AutoDeleteObjectsCustomResourceProviderRole/),
      ]);
    }
  });

  it('redirects viewers to HTTPS and opens index.html at /, the one page of the dashboard', () => {
    const config = distributionConfig();
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.CustomErrorResponses).toBeUndefined();
    expect(assembly.refs(config.Logging.Bucket, distribution().stack)).toEqual([logsBucket()]);
  });

  it('sends the security headers of the local web server, with a CSP that connects only to the two APIs', () => {
    const [policy] = assembly.refs(
      distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId,
      distribution().stack,
    );
    const headers = z
      .object({
        ResponseHeadersPolicyConfig: z.object({
          SecurityHeadersConfig: z.object({
            ContentSecurityPolicy: z.object({
              ContentSecurityPolicy: z.unknown(),
              Override: z.literal(true),
            }),
            StrictTransportSecurity: z.object({
              AccessControlMaxAgeSec: z.number(),
              Override: z.literal(true),
            }),
            ContentTypeOptions: z.object({ Override: z.literal(true) }),
            FrameOptions: z.object({ FrameOption: z.literal('DENY'), Override: z.literal(true) }),
            ReferrerPolicy: z.object({ ReferrerPolicy: z.literal('no-referrer'), Override: z.literal(true) }),
          }),
        }),
      })
      .parse(policy?.resource.Properties).ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 24 * 3600);

    const csp = urlText(headers.ContentSecurityPolicy.ContentSecurityPolicy, distribution().stack);
    const directives = new Map(
      csp.split('; ').map((directive) => {
        const [name = '', ...sources] = directive.split(' ');
        return [name, sources];
      }),
    );
    // A CSP source ending in "/" matches every path below it: the REST routes and the WebSocket's "/?token=".
    expect(directives.get('connect-src')).toEqual([
      "'self'",
      outputUrl('RestApiUrl'),
      `${outputUrl('WebSocketUrl')}/`,
    ]);
    expect(outputUrl('RestApiUrl')).toMatch(
      /^https:\/\/<RestApi\w+>\.execute-api\.<AWS::Region>\.<AWS::URLSuffix>\/dev\/$/,
    );
    expect(outputUrl('WebSocketUrl')).toMatch(
      /^wss:\/\/<WebSocketApi\w+>\.execute-api\.<AWS::Region>\.<AWS::URLSuffix>\/dev$/,
    );
    expect(csp).toBe(contentSecurityPolicy(directives.get('connect-src')?.slice(1) ?? []));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('deploys the hashed assets first and for good, then index.html and a config.json that point at the deployed APIs', () => {
    const all = deployments();
    expect(all).toHaveLength(2);
    const assets = all.find(
      ({ deployment }) => deployment.DestinationBucketKeyPrefix === `${ASSETS_FOLDER}/`,
    );
    const pages = all.find(({ deployment }) => deployment.DestinationBucketKeyPrefix === undefined);
    if (!assets || !pages) throw new Error('Expected a deployment of assets/ and one of the pages');
    for (const { located, deployment } of all) {
      expect(assembly.refs(deployment.DestinationBucketName, located.stack)).toEqual([siteBucket()]);
    }

    expect(assets.deployment).toMatchObject({
      Prune: false,
      SystemMetadata: { 'cache-control': ASSET_CACHE_CONTROL },
    });
    expect(assets.deployment.DistributionId).toBeUndefined();
    const assetSources = sourceFiles(assets.deployment);
    expect(assetSources.flatMap((files) => [...files.keys()]).sort()).toEqual(
      filesBelow(join(dashboardFiles, ASSETS_FOLDER)).sort(),
    );

    expect(pages.deployment).toMatchObject({
      Prune: true,
      Exclude: [`${ASSETS_FOLDER}/*`],
      SystemMetadata: { 'cache-control': PAGE_CACHE_CONTROL },
      DistributionPaths: ['/*'],
    });
    expect(assembly.refs(pages.deployment.DistributionId, pages.located.stack)).toEqual([distribution()]);
    expect([pages.located.resource.DependsOn ?? []].flat()).toContain(assets.located.logicalId);

    const pageSources = sourceFiles(pages.deployment);
    expect(pageSources.flatMap((files) => [...files.keys()]).sort()).toEqual(['config.json', 'index.html']);
    const configSource = pageSources.findIndex((files) => files.has('config.json'));
    const markers = pages.deployment.SourceMarkers[configSource] ?? {};
    const rendered = Object.entries(markers).reduce(
      (text, [marker, value]) => text.replaceAll(marker, flatten(value)),
      readFileSync(pageSources[configSource]?.get('config.json') ?? '', 'utf8'),
    );
    const config = z.object({ apiUrl: z.string(), wsUrl: z.string() }).strict().parse(JSON.parse(rendered));
    expect({
      apiUrl: urlText(config.apiUrl, pages.located.stack),
      wsUrl: urlText(config.wsUrl, pages.located.stack),
    }).toEqual({ apiUrl: outputUrl('RestApiUrl'), wsUrl: outputUrl('WebSocketUrl') });
  });

  it('lets the deployment provider write only the dashboard bucket and invalidate only its distribution', () => {
    const provider = [...assembly.resources('AWS::Lambda::Function')].find(({ logicalId }) =>
      logicalId.startsWith('CustomCDKBucketDeployment'),
    );
    const [role] = assembly.refs(provider?.resource.Properties.Role, provider?.stack ?? '');
    if (!role) throw new Error('No BucketDeployment provider role');
    expect(role.resource.Properties.ManagedPolicyArns).toBeUndefined();
    const granted = [...grantsOf(role)];
    const holding = (action: string) =>
      granted.filter(([, actions]) => actions.has(action)).map(([identity]) => identity);
    expect(holding('cloudfront:CreateInvalidation')).toEqual([assembly.identity(distribution())]);
    expect(holding('s3:PutObject')).toEqual([assembly.identity(siteBucket())]);
    expect(holding('s3:DeleteObject*')).toEqual([assembly.identity(siteBucket())]);
  });

  it('is the one origin the REST API and its handlers allow (preflights, gateway responses, ALLOWED_ORIGIN)', () => {
    const preflights = [...assembly.resources('AWS::ApiGateway::Method')].filter(
      ({ resource }) => resource.Properties.HttpMethod === 'OPTIONS',
    );
    expect(preflights.length).toBeGreaterThan(0);
    for (const { resource } of preflights) {
      const [response] = z
        .object({
          IntegrationResponses: z.array(z.object({ ResponseParameters: z.record(z.string(), z.unknown()) })),
        })
        .parse(resource.Properties.Integration).IntegrationResponses;
      expect(
        flatten(response?.ResponseParameters['method.response.header.Access-Control-Allow-Origin']),
      ).toBe(`'${dashboardOrigin()}'`);
    }
    for (const route of routes) {
      const variables = Environment.parse(
        functionOf(route.function).resource.Properties.Environment,
      ).Variables;
      expect(flatten(variables.ALLOWED_ORIGIN)).toBe(dashboardOrigin());
    }
  });

  it('is emptied and deleted, logs included, when the dev stage is destroyed', () => {
    for (const bucket of [siteBucket(), logsBucket()]) {
      expect(bucket.resource.DeletionPolicy).toBe('Delete');
      const emptied = [...assembly.resources('Custom::S3AutoDeleteObjects')].some((custom) =>
        assembly
          .refs(custom.resource.Properties.BucketName, custom.stack)
          .some((r) => r.logicalId === bucket.logicalId),
      );
      expect(emptied).toBe(true);
    }
  });
});

describe('another stage, with a dashboardOrigin of its own (synthesised without bundling the handlers)', () => {
  const ORIGIN = 'https://dashboard.example.com';
  let prod = new CloudAssembly({});

  beforeAll(() => {
    const app = new App({
      outdir: join(outdir, 'prod'),
      context: { ...cdkContext(), stage: 'prod', dashboardOrigin: ORIGIN, 'aws:cdk:bundling-stacks': [] },
    });
    buildSensorbus(app, { dashboardFiles });
    const cloud = app.synth();
    prod = new CloudAssembly(
      Object.fromEntries(cloud.stacks.map((stack) => [stack.stackName, CfnTemplate.parse(stack.template)])),
    );
  }, 60_000);

  it('allows CORS from that origin instead of the distribution', () => {
    const responses = [...prod.resources('AWS::ApiGateway::GatewayResponse')];
    expect(responses.length).toBeGreaterThan(0);
    for (const { resource } of responses) {
      expect(
        z.record(z.string(), z.unknown()).parse(resource.Properties.ResponseParameters)[
          'gatewayresponse.header.Access-Control-Allow-Origin'
        ],
      ).toBe(`'${ORIGIN}'`);
    }
    const origins = [...prod.resources('AWS::Lambda::Function')].flatMap(({ resource }) => {
      const variables = Environment.safeParse(resource.Properties.Environment);
      return variables.success && 'ALLOWED_ORIGIN' in variables.data.Variables
        ? [variables.data.Variables.ALLOWED_ORIGIN]
        : [];
    });
    expect(new Set(origins)).toEqual(new Set([ORIGIN]));
  });

  it('retains the dashboard and log buckets, and never empties them', () => {
    const buckets = [...prod.resources('AWS::S3::Bucket')];
    expect(buckets).toHaveLength(2);
    for (const { resource } of buckets)
      expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect([...prod.resources('Custom::S3AutoDeleteObjects')]).toEqual([]);
  });
});
