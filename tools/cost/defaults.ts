/**
 * The default assumptions: sizes measured by the project's code, routing read from the topology,
 * durations assumed (replace them with measured ones). Memory and the ASL size are passed in by
 * the CLI, which reads them from `infra/aws/` and `statemachines/`.
 */

import { DEFAULT_WINDOW } from '../../handlers/enrichment/derive.ts';
import { CONNECTION_LIFETIME_SECONDS } from '../../handlers/lib/connections-store.ts';
import { FUNCTION_MEMORY_MB, REST_STAGE_METRICS, routes, TRACE_SAMPLING } from '../../infra/api.ts';
import { ARCHIVE_RETENTION_DAYS, tables } from '../../infra/resources.ts';
import { ASSUMED_DASHBOARD_BUNDLE } from './dashboard-size.ts';
import type { MeasuredUnits } from './measured.ts';
import { type Assumptions, DAYS_PER_MONTH, type LambdaDurations } from './model.ts';
import { measureSizes } from './sizes.ts';
import { routingFromTopology } from './topology.ts';

/** Who watches by default: 1,000 dashboards each following 100 devices (the realistic defaults). */
export const DEFAULT_DASHBOARDS = 1_000;
export const DEFAULT_DEVICES_PER_DASHBOARD = 100;

/** Threshold alerts per device per day (each raised and later resolved): the realistic default. */
export const DEFAULT_ALERTS_PER_DEVICE_PER_DAY = 1;

/** Warm p50-style durations of 512 MB arm64 functions doing the calls the handlers make (ms). Assumed, not measured. */
export const DEFAULT_LAMBDA_MS: LambdaDurations = {
  ingestBase: 40,
  ingestPerReading: 3,
  ingestKeyRead: 5,
  deviceKeyAuthorizer: 15,
  deriveMetrics: 25,
  evaluateAlarms: 25,
  pushBase: 25,
  pushPerConnection: 3,
  alertHistory: 20,
  alertNotifier: 60,
  announce: 40,
  silenceCheckBase: 100,
  silenceCheckPerThousandDevices: 150,
  // Parsing the Scan's answer and evaluating: ~80 µs a device measured on 2 cores at load average 28,
  // ≈ 6 µs on a whole quiet core, ≈ 20 µs on 512 MB's share of one.
  silenceCheckCpuPerThousandDevices: 20,
  websocketAuthorizer: 20,
  websocketConnections: 30,
  websocketMessages: 40,
  other: 50,
};

/**
 * The metrics a REST method writes with detailed metrics on: Count, 4XXError, 5XXError, Latency,
 * IntegrationLatency, CacheHitCount, CacheMissCount
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
 */
export const REST_DETAILED_METRICS_PER_METHOD = 7;

export interface DefaultOptions {
  readonly metricsPerReading?: number;
  readonly intervalSeconds?: number;
  readonly lambdaMemoryMb?: number;
  readonly lambdaMemorySource?: string;
  readonly sfnDefinitionBytes?: number;
  readonly measured?: MeasuredUnits;
  /** The built dashboard's files and bytes (`measureDashboard`); assumed when absent. */
  readonly dashboardBundle?: { readonly files: number; readonly bytes: number; readonly source: string };
}

export const defaultAssumptions = (options: DefaultOptions = {}): Assumptions => {
  const metricsPerReading = options.metricsPerReading ?? 3;
  return {
    daysPerMonth: DAYS_PER_MONTH,
    lambdaMemoryMb: options.lambdaMemoryMb ?? FUNCTION_MEMORY_MB,
    lambdaMemorySource:
      options.lambdaMemorySource ?? 'FUNCTION_MEMORY_MB of infra/api.ts, which the CDK stack deploys',
    lambdaMs: DEFAULT_LAMBDA_MS,
    sfnDurationMs: 250,
    sfnDefinitionBytes: options.sfnDefinitionBytes ?? 9_300,
    enrichmentWindow: DEFAULT_WINDOW,
    xrayReservoirPerSecond: TRACE_SAMPLING.reservoirPerSecond,
    xraySampleRate: TRACE_SAMPLING.fixedRate,
    logsCompressionRatio: 0.15,
    logsRetentionMonths: { functions: 1, access: 3 },
    archiveRetentionMonths: ARCHIVE_RETENTION_DAYS / DAYS_PER_MONTH,
    rollupsRetentionDays: tables.rollups.retention.days,
    idempotencyTtlHours: { push: 1, alertNotifier: 7 * 24 },
    ttlDeletionLagHours: 48,
    connectionLifetimeMinutes: CONNECTION_LIFETIME_SECONDS / 60,
    dashboardBundle: options.dashboardBundle ?? ASSUMED_DASHBOARD_BUNDLE,
    dashboardLoadsPerDay: 1,
    restDetailedMetrics: {
      methods: REST_STAGE_METRICS.detailed ? routes.length : 0,
      metricsPerMethod: REST_DETAILED_METRICS_PER_METHOD,
    },
    // The dashboard's MAX_SUBSCRIBE_DEVICES (web/src/logic/subscriptions.ts).
    subscribeIdsPerMessage: 100,
    metricsPerReading,
    sizes: measureSizes(metricsPerReading, options.intervalSeconds ?? 60),
    routing: routingFromTopology(),
    ...(options.measured ? { measured: options.measured } : {}),
  };
};
