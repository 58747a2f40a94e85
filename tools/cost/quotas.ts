/**
 * The AWS default quotas the design touches (us-east-1), and the load a fleet puts on each: the
 * average rate of the month (devices post evenly), so a quota near its limit also needs room for
 * peaks. Each cites the AWS page that states it; a figure no page read here stated is marked
 * `verified: false`.
 */

export interface QuotaSpec {
  readonly name: string;
  readonly limit: number;
  readonly unit: string;
  /** Whether AWS raises it on request (Service Quotas or Support). */
  readonly adjustable: boolean;
  readonly source: string;
  readonly verified: boolean;
}

export interface Quota {
  readonly name: string;
  readonly limit: number;
  readonly load: number;
  readonly exceeded: boolean;
  readonly unit: string;
  readonly adjustable: boolean;
  readonly source: string;
  readonly verified: boolean;
}

const APIGW_QUOTAS = 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html';
const WS_QUOTAS =
  'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html';
const LAMBDA_QUOTAS = 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html';
const EVENTBRIDGE_QUOTAS = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html';
const SFN_QUOTAS = 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html';
const DYNAMODB_QUOTAS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html';
const SNS_QUOTAS = 'https://docs.aws.amazon.com/general/latest/gr/sns.html';

/** AWS's default quotas, us-east-1. */
export const DEFAULT_QUOTAS = {
  apiGatewayAccountRps: {
    name: 'API Gateway: requests per second per account and Region (HTTP, REST, WebSocket and @connections calls together)',
    limit: 10_000,
    unit: 'requests/s',
    adjustable: true,
    source: APIGW_QUOTAS,
    verified: true,
  },
  websocketNewConnections: {
    name: 'API Gateway WebSocket: new connections per second per account',
    limit: 500,
    unit: 'connections/s',
    adjustable: true,
    source: WS_QUOTAS,
    verified: true,
  },
  lambdaConcurrency: {
    name: 'Lambda: concurrent executions per account and Region',
    limit: 1_000,
    unit: 'concurrent executions',
    adjustable: true,
    source: LAMBDA_QUOTAS,
    verified: true,
  },
  eventBridgePutEvents: {
    name: 'EventBridge: PutEvents requests per second (us-east-1)',
    limit: 10_000,
    unit: 'requests/s',
    adjustable: true,
    source: EVENTBRIDGE_QUOTAS,
    verified: false,
  },
  eventBridgeInvocations: {
    name: 'EventBridge: target invocations per second (us-east-1)',
    limit: 18_750,
    unit: 'invocations/s',
    adjustable: true,
    source: EVENTBRIDGE_QUOTAS,
    verified: false,
  },
  stepFunctionsExpressStarts: {
    name: 'Step Functions: StartExecution per second, Express workflows (refill rate)',
    limit: 6_000,
    unit: 'executions/s',
    adjustable: true,
    source: SFN_QUOTAS,
    verified: false,
  },
  dynamoTableWrites: {
    name: 'DynamoDB: write request units per second per on-demand table',
    limit: 40_000,
    unit: 'WRU/s',
    adjustable: true,
    source: DYNAMODB_QUOTAS,
    verified: true,
  },
  dynamoTableReads: {
    name: 'DynamoDB: read request units per second per on-demand table',
    limit: 40_000,
    unit: 'RRU/s',
    adjustable: true,
    source: DYNAMODB_QUOTAS,
    verified: true,
  },
  dynamoPartitionWrites: {
    name: 'DynamoDB: write units per second per partition key value',
    limit: 1_000,
    unit: 'WRU/s',
    adjustable: false,
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
    verified: true,
  },
  snsPublish: {
    name: 'SNS: Publish requests per second (us-east-1)',
    limit: 30_000,
    unit: 'requests/s',
    adjustable: true,
    source: SNS_QUOTAS,
    verified: false,
  },
} as const satisfies Record<string, QuotaSpec>;

export type QuotaId = keyof typeof DEFAULT_QUOTAS;

/** One quota against its load; `name` may say which table, stage or index. */
export const quota = (spec: QuotaSpec, load: number, overrides: Partial<QuotaSpec> = {}): Quota => {
  const merged = { ...spec, ...overrides };
  return {
    name: merged.name,
    limit: merged.limit,
    load,
    exceeded: load > merged.limit,
    unit: merged.unit,
    adjustable: merged.adjustable,
    source: merged.source,
    verified: merged.verified,
  };
};

/** Concurrent executions by Little's law: arrivals per second × seconds each. */
export const concurrency = (invocationsPerSecond: number, msEach: number): number =>
  (invocationsPerSecond * msEach) / 1000;

/** The increases a deployment must request: every exceeded quota, with the load to ask for (plus headroom). */
export const increasesToRequest = (quotas: readonly Quota[], headroom = 2): string[] =>
  quotas
    .filter((q) => q.exceeded)
    .map((q) =>
      q.adjustable
        ? `${q.name}: raise ${Math.round(q.limit).toLocaleString('en-US')} → ≥ ${Math.ceil(q.load * headroom).toLocaleString('en-US')} ${q.unit} (${q.source})`
        : `${q.name}: not adjustable (${Math.round(q.load).toLocaleString('en-US')} > ${q.limit.toLocaleString('en-US')} ${q.unit}): change the design (${q.source})`,
    );

/** What loads the quotas: the model's average rates for a fleet (see `Rates` in `model.ts`). */
export interface QuotaLoads {
  readonly uploadsPerSecond: number;
  readonly websocketMessagesPerSecond: number;
  readonly newWebSocketConnectionsPerSecond: number;
  readonly lambdaConcurrency: number;
  /** PutEvents entries per second: an upper bound of PutEvents requests (up to 10 entries each). */
  readonly putEventsEntriesPerSecond: number;
  readonly ruleInvocationsPerSecond: number;
  readonly expressStartsPerSecond: number;
  readonly snsPublishesPerSecond: number;
  /** WRU and RRU per second by table (index writes included). */
  readonly tableWritesPerSecond: Readonly<Record<string, number>>;
  readonly tableReadsPerSecond: Readonly<Record<string, number>>;
  /** The stage throttle the CDK app deploys for this fleet (`stageThrottle` of `infra/fleet.ts`). */
  readonly stageRateLimit: number;
  /** The API the uploads reach: the device API (an HTTP API, the default) or the REST API of the earlier design. */
  readonly frontDoor?: 'rest' | 'http';
  /** Concurrency the stage sized for the fleet reserves (`fleetLimits` of `infra/fleet.ts`), plus what Lambda keeps unreserved. */
  readonly reservedConcurrency: number;
  /** One run of the silence check: its RRU (the Scan of every device), its estimated seconds and its schedule's period. */
  readonly silenceCheck: {
    readonly readUnitsPerRun: number;
    readonly secondsPerRun: number;
    readonly periodSeconds: number;
  };
}

/** Each quota the design touches, against the fleet's load. */
export const fleetQuotas = (loads: QuotaLoads): Quota[] => {
  const q = DEFAULT_QUOTAS;
  return [
    quota(
      {
        name:
          (loads.frontDoor ?? 'http') === 'http'
            ? 'API Gateway: HTTP API $default stage throttle of the device API (sized for the fleet by infra/fleet.ts)'
            : 'API Gateway: REST stage throttle (sized for the fleet by infra/fleet.ts)',
        limit: loads.stageRateLimit,
        unit: 'requests/s',
        adjustable: true,
        source:
          (loads.frontDoor ?? 'http') === 'http'
            ? 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html'
            : 'https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html',
        verified: true,
      },
      loads.uploadsPerSecond,
    ),
    quota(q.apiGatewayAccountRps, loads.uploadsPerSecond + loads.websocketMessagesPerSecond),
    quota(q.websocketNewConnections, loads.newWebSocketConnectionsPerSecond),
    quota(q.lambdaConcurrency, loads.lambdaConcurrency),
    quota(q.lambdaConcurrency, loads.reservedConcurrency, {
      name: `${q.lambdaConcurrency.name}: reserved by the stage sized for the fleet, with the 100 Lambda keeps unreserved`,
    }),
    quota(q.eventBridgePutEvents, loads.putEventsEntriesPerSecond),
    quota(q.eventBridgeInvocations, loads.ruleInvocationsPerSecond),
    quota(q.stepFunctionsExpressStarts, loads.expressStartsPerSecond),
    ...Object.entries(loads.tableWritesPerSecond).map(([table, load]) =>
      quota(q.dynamoTableWrites, load, { name: `${q.dynamoTableWrites.name}: ${table}` }),
    ),
    ...Object.entries(loads.tableReadsPerSecond).map(([table, load]) =>
      quota(q.dynamoTableReads, load, { name: `${q.dynamoTableReads.name}: ${table}` }),
    ),
    quota(q.snsPublish, loads.snsPublishesPerSecond),
    quota(
      {
        name: 'Silence check: seconds per run (a run must end before the next one starts)',
        limit: loads.silenceCheck.periodSeconds,
        unit: 's',
        adjustable: false,
        source:
          'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan',
        verified: false,
      },
      loads.silenceCheck.secondsPerRun,
    ),
    quota(
      q.dynamoTableReads,
      loads.silenceCheck.secondsPerRun > 0
        ? loads.silenceCheck.readUnitsPerRun / loads.silenceCheck.secondsPerRun
        : 0,
      { name: `${q.dynamoTableReads.name}: devices, while a silence check’s Scan runs` },
    ),
  ];
};
