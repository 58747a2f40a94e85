import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as xray from 'aws-cdk-lib/aws-xray';
import type { Construct } from 'constructs';
import {
  type AuthorizerSpec,
  authorizers,
  httpApi,
  type RouteSpec,
  routes,
  TRACE_SAMPLING,
  websocketApi,
} from '../api.ts';
import { DEFAULT_FLEET, fleetLimits, fleetSchedules, fleetSettings } from '../fleet.ts';
import { type FunctionName, type FunctionSpec, functions } from '../functions.ts';

/** Functions API Gateway runs as authorizers. */
const AUTHORIZER_FUNCTIONS: ReadonlySet<string> = new Set<string>([
  ...Object.values(authorizers).map((spec) => spec.function),
  websocketApi.authorizer.function,
]);

import {
  type QueueSpec,
  queues,
  type RuleSpec,
  rules,
  type ScheduleSpec,
  type StateMachineSpec,
  stateMachines,
  type TableSpec,
  tables,
} from '../topology.ts';
import { OperatorAlarms } from './alarms.ts';
import { mapRecord, physicalName, physicalNameOfKey, type StageConfig } from './config.ts';
import { SensorbusDashboard } from './dashboard.ts';
import { dataReferences } from './data-stack.ts';
import { DeadLetterQueues } from './dead-letter-queues.ts';
import { type AsyncInvocation, EventRules } from './event-rules.ts';
import { SensorbusHttpApi } from './http-api.ts';
import { TopologyQueues } from './queues.ts';
import { SensorbusRestApi } from './rest-api.ts';
import { Schedules } from './schedules.ts';
import { SensorbusFunction, type SensorbusResources } from './sensorbus-function.ts';
import { StateMachines } from './state-machines.ts';
import { StreamConsumers } from './stream-consumers.ts';
import { SensorbusWebSocketApi, type WebSocketApiSpec } from './websocket-api.ts';

export interface ServiceStackProps extends StackProps {
  readonly stage: StageConfig;
  /** The buses and topics of the events stack (the tables and secrets are found by name). */
  readonly events: Pick<SensorbusResources, 'buses' | 'topics'>;
  /** The built dashboard (`buildDashboard()` of `dashboard-build.ts`). */
  readonly dashboardFiles: string;
}

/**
 * The code and its wiring: one Lambda function per `infra/api.ts` function, the topology's
 * workflows, the devices' HTTP API, the REST and WebSocket APIs, the topology's rules with their
 * dead-letter queues, the schedules, the operators' alarms, and the dashboard (S3 + CloudFront).
 *
 * The dashboard lives here rather than in a stack of its own because it and the APIs name each
 * other resource by resource: the distribution's Content-Security-Policy names the APIs, and the
 * APIs' CORS headers (preflight methods, gateway responses, the handlers' `ALLOWED_ORIGIN`) name
 * the distribution. Within one template that is an order — API ids, then the distribution, then the
 * methods and functions — but no split into stacks could follow it without separating an API from
 * its own methods.
 */
export class ServiceStack extends Stack {
  readonly functions: Record<FunctionName, SensorbusFunction>;
  readonly restApi: SensorbusRestApi;
  readonly httpApi: SensorbusHttpApi;
  readonly webSocketApi: SensorbusWebSocketApi;
  readonly eventRules: EventRules;
  /** The topology's queues (none in sensorbus' own flow; a developer's rule target may add one). */
  readonly queues: TopologyQueues;
  readonly stateMachines: StateMachines;
  readonly schedules: Schedules;
  readonly deadLetterQueues: DeadLetterQueues;
  readonly alarms: OperatorAlarms;
  readonly dashboard: SensorbusDashboard;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const fleet = stage.fleet ?? DEFAULT_FLEET;
    const resources: SensorbusResources = { ...dataReferences(this, stage), ...props.events };
    const routeList: readonly RouteSpec[] = routes;
    const authorizerSpecs: Readonly<Record<string, AuthorizerSpec>> = authorizers;
    const servesRoutes = new Set([
      ...routeList.map((route) => route.function),
      ...httpApi.routes.map((route) => route.function),
    ]);
    const webSocketSpec: WebSocketApiSpec = websocketApi;

    this.dashboard = new SensorbusDashboard(this, 'Dashboard', { stage, files: props.dashboardFiles });
    const dashboardOrigin = stage.dashboardOrigin ?? this.dashboard.url;

    this.webSocketApi = new SensorbusWebSocketApi(this, 'WebSocket', { stage, spec: webSocketSpec });
    const withWebSocket: SensorbusResources = { ...resources, websocket: this.webSocketApi.stage };

    this.functions = mapRecord(
      functions,
      (spec: FunctionSpec, key) =>
        new SensorbusFunction(this, key, {
          stage,
          functionName: physicalNameOfKey(stage, key),
          spec,
          resources: withWebSocket,
          limits: fleetLimits(key, fleet),
          settings: {
            ...fleetSettings(key, fleet),
            ...(servesRoutes.has(key) ? { ALLOWED_ORIGIN: dashboardOrigin } : {}),
          },
        }),
    );
    const lambdas = mapRecord(this.functions, (fn): lambda.IFunction => fn.function);
    this.webSocketApi.addRoutes(lambdas);

    const asyncInvocations = new Map<FunctionName, AsyncInvocation>();
    const configureAsync = (name: FunctionName, invocation: AsyncInvocation): void => {
      if (asyncInvocations.has(name)) {
        throw new Error(
          `Function ${name} is invoked asynchronously from two places; it has one failure destination`,
        );
      }
      asyncInvocations.set(name, invocation);
      lambdas[name].configureAsyncInvoke({
        retryAttempts: invocation.retryAttempts,
        maxEventAge: invocation.maxEventAge,
        onFailure: new SqsDestination(invocation.onFailure),
      });
    };

    this.deadLetterQueues = new DeadLetterQueues(this, 'DeadLetters', stage);
    const machineSpecs: Readonly<Record<string, StateMachineSpec>> = stateMachines;
    this.stateMachines = new StateMachines(this, 'Workflows', {
      stage,
      specs: machineSpecs,
      resources,
      functions: lambdas,
      deadLetterQueues: this.deadLetterQueues,
    });

    const queueSpecs: Readonly<Record<string, QueueSpec>> = queues;
    this.queues = new TopologyQueues(this, 'Queues', {
      stage,
      specs: queueSpecs,
      deadLetterQueues: this.deadLetterQueues,
    });
    const ruleList: readonly RuleSpec[] = rules;
    this.eventRules = new EventRules(this, 'Rules', {
      stage,
      rules: ruleList,
      resources,
      queues: this.queues.queues,
      functions: lambdas,
      stateMachines: this.stateMachines.machines,
      deadLetterQueues: this.deadLetterQueues,
      configureAsync,
    });
    const scheduleSpecs: Readonly<Record<string, ScheduleSpec>> = fleetSchedules(fleet);
    this.schedules = new Schedules(this, 'Schedules', {
      stage,
      schedules: scheduleSpecs,
      functions: lambdas,
      deadLetterQueues: this.deadLetterQueues,
      configureAsync,
    });
    const tableSpecs: Readonly<Record<string, TableSpec>> = tables;
    new StreamConsumers(this, 'StreamConsumers', {
      tables: tableSpecs,
      tableRefs: resources.tables,
      functions: lambdas,
      deadLetterQueues: this.deadLetterQueues,
    });
    this.restApi = new SensorbusRestApi(this, 'Rest', {
      stage,
      dashboardOrigin,
      routes: routeList,
      authorizers: authorizerSpecs,
      functions: lambdas,
    });

    this.httpApi = new SensorbusHttpApi(this, 'Devices', { stage, spec: httpApi, functions: lambdas });

    // WebSocket access logs need the account's API Gateway logging role, which the REST API sets.
    const account = this.restApi.api.node.tryFindChild('Account');
    if (account) this.webSocketApi.stage.node.addDependency(account);
    this.dashboard.connect({ restApi: this.restApi, webSocketStage: this.webSocketApi.stage });

    // Every physical name of the stage starts with the same prefix: one rule samples them all.
    const prefix = physicalName(stage, 'sensorbus');
    new xray.CfnSamplingRule(this, 'TraceSampling', {
      samplingRule: {
        ruleName: prefix,
        priority: 100,
        serviceName: `${prefix}*`,
        serviceType: '*',
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        resourceArn: '*',
        reservoirSize: TRACE_SAMPLING.reservoirPerSecond,
        fixedRate: TRACE_SAMPLING.fixedRate,
        version: 1,
      },
    });

    this.alarms = new OperatorAlarms(this, 'Alarms', stage);
    for (const [key, fn] of Object.entries(this.functions)) {
      // An authorizer rejects a bad credential by failing, which Lambda counts as an error: its
      // real failures show as the API's 5XX answers instead.
      if (AUTHORIZER_FUNCTIONS.has(key)) continue;
      this.alarms.functionErrors(`${key}Errors`, fn.function, physicalNameOfKey(stage, key));
    }
    this.alarms.apiServerErrors('RestApi5XX', this.restApi.api, physicalName(stage, 'sensorbus-rest-api'));
    this.alarms.apiServerErrors(
      'DeviceApi5XX',
      this.httpApi.api,
      physicalName(stage, 'sensorbus-devices-api'),
    );
    for (const [key, machine] of Object.entries(this.stateMachines.machines)) {
      this.alarms.stateMachineFailures(`${key}Failures`, machine, machineSpecs[key]?.name ?? key);
    }
    for (const queue of this.deadLetterQueues.all()) {
      this.alarms.deadLetterQueueNotEmpty(`${queue.node.id}NotEmpty`, queue, queue.node.id);
    }

    new CfnOutput(this, 'RestApiUrl', { value: this.restApi.api.url, description: 'REST API base URL' });
    new CfnOutput(this, 'IngestApiUrl', {
      value: this.httpApi.api.apiEndpoint,
      description: 'The device API (HTTP API) base URL: devices POST /readings here',
    });
    new CfnOutput(this, 'WebSocketUrl', {
      value: this.webSocketApi.stage.url,
      description: 'WebSocket API URL (connect with ?token=<viewer token>)',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description: 'The dashboard (open it with ?token=<viewer token>)',
    });
    new CfnOutput(this, 'OperatorAlarmsTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'Subscribe operators to this topic to receive the alarms',
    });
  }
}
