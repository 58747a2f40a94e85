/**
 * The cost model: from a fleet (devices, posting interval, batch size, alerts, dashboards) to the
 * monthly line items of the sensorbus design on AWS and of the AWS IoT Core alternative. Pure: every
 * size, duration and price comes in as an argument, so it is tested by hand-computed numbers.
 *
 * What happens per upload is counted from the code (see each line's note):
 * - Ingest, per request of K readings (`handlers/ingest/`): behind the HTTP API, one strongly
 *   consistent GetItem of the device key's record, then K conditional PutItems on readings. The readings stream is the outbox (`handlers/announce/`): one invocation per stream
 *   batch (an upload at most rates) puts ONE `ReadingRecorded` v2 carrying the upload's readings
 *   (split past 64 KB); Lambda reads the stream for free. The REST front door's what-if (`frontDoor:
 *   'rest'`, the earlier design) adds a device-key authorizer invocation per request that its
 *   cache misses (TTL 0: every one), which makes the key's read instead of the ingest function.
 * - Enrichment, per upload (`statemachines/enrich-reading.asl.json`): one Express execution with a
 *   GetItem of the device, DeriveMetrics (a consistent GetItem of the device's rolling window, its
 *   conditional UpdateItem, which records the device's lastReading too, one PutItem to the
 *   enrichments table per UTC hour the upload's readings span, and PutEvents of one
 *   `ReadingEnriched` v2), EvaluateAlarms (a strongly consistent GetItem and an UpdateItem only when
 *   an alarm changes state) and PutEvents of the alerts. The IoT Core alternative carries one
 *   reading per message, so there an
 *   upload is one reading.
 * - Rules (`infra/topology.ts`): every match is a delivery; a bus target is a custom event on the
 *   second bus; the push Lambda (`handlers/push/`) writes a Powertools idempotency record (PutItem +
 *   UpdateItem), queries `byDevice` and posts to every subscribed connection; the alert notifier
 *   writes its idempotency record and publishes to SNS; alert-history updates the alerts table.
 * - Schedules (`infra/api.ts`): the silence check scans the whole devices table every minute, in
 *   parallel segments, billed on the whole size of every device item (window included).
 */

import { PACKED_HOUR_BYTES } from '../../handlers/lib/hour-items.ts';
import { BUCKET_MS, retentionDaysOf, STORED_SIZES } from '../../handlers/lib/rollups.ts';
import {
  type FleetSize,
  reservedConcurrency,
  silenceCheckMinutes,
  silenceScanSegments,
  stageThrottle,
  UNRESERVED_CONCURRENCY_MINIMUM,
} from '../../infra/fleet.ts';
import { type FunctionName, functions } from '../../infra/functions.ts';
import { tables } from '../../infra/resources.ts';
import { MAX_BATCH, UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import { readUnits, STORAGE_OVERHEAD_BYTES, writeUnits } from './dynamo-size.ts';
import { combineUnits, type MeasuredUnits, type Units, unitsPerUpload } from './measured.ts';
import { type FrontDoor, measuredFlow } from './measured-uses.ts';
import { type Price, type PriceId, type PriceTable, tieredCost } from './prices.ts';
import { fleetQuotas, increasesToRequest, type Quota, type QuotaLoads } from './quotas.ts';
import type { Sizes } from './sizes.ts';
import type { Routing } from './topology.ts';

const functionNames = Object.keys(functions) as FunctionName[];

/** The month every estimate is for: 365.25 / 12 days. */
export const DAYS_PER_MONTH = 30.44;

const SECONDS_PER_DAY = 86_400;

export interface CostInputs {
  readonly devices: number;
  /** Seconds between two readings of one device. */
  readonly intervalSeconds: number;
  /**
   * Readings per POST /readings (1..100) of every device, overriding what the code does: a watched
   * device streams (1), an unwatched one buffers `bufferSeconds` (see {@link uploadShapeOf}).
   */
  readonly batch?: number;
  /** The `bufferSeconds` the ingest answers a device nobody watches; `UNWATCHED_BUFFER_SECONDS` by default. */
  readonly bufferSeconds?: number;
  /** Threshold alerts raised per device per day; each is later resolved (two events). */
  readonly alertsPerDevicePerDay: number;
  /** Dashboards connected around the clock. */
  readonly dashboards: number;
  /** Devices each dashboard follows (the dashboard subscribes to every device it shows); default all. */
  readonly devicesPerDashboard?: number;
  /** Months of alert history kept so far, and of the bus archive (at most its retention). */
  readonly months: number;
  /** Days a reading is kept (its TTL): the readings table's steady-state size. */
  readonly retentionDays: number;
  /** The API devices post to: the deployed HTTP API (the default), or the REST API of the earlier design (a what-if). */
  readonly frontDoor?: FrontDoor;
  /** Email subscriptions of the alerts topic that receive every alert. */
  readonly emailSubscribers: number;
}

export type Design = 'rest' | 'iot';

/** Average billed duration of one invocation, per function (ms). */
export interface LambdaDurations {
  readonly ingestBase: number;
  readonly ingestPerReading: number;
  /** What checking the device key adds to an ingest invocation behind the HTTP API (one GetItem). */
  readonly ingestKeyRead: number;
  readonly deviceKeyAuthorizer: number;
  readonly deriveMetrics: number;
  readonly evaluateAlarms: number;
  readonly pushBase: number;
  readonly pushPerConnection: number;
  readonly alertHistory: number;
  readonly alertNotifier: number;
  readonly announce: number;
  readonly silenceCheckBase: number;
  /** Reading 1,000 devices in one Scan segment; the run's segments are read at the same time. */
  readonly silenceCheckPerThousandDevices: number;
  /** Parsing and evaluating 1,000 devices: CPU, which the segments do not share out. */
  readonly silenceCheckCpuPerThousandDevices: number;
  readonly websocketAuthorizer: number;
  readonly websocketConnections: number;
  readonly websocketMessages: number;
  /** Any function a new rule or schedule invokes that the model does not know. */
  readonly other: number;
}

export interface Assumptions {
  readonly daysPerMonth: number;
  readonly lambdaMemoryMb: number;
  /** Where `lambdaMemoryMb` comes from. */
  readonly lambdaMemorySource: string;
  readonly lambdaMs: LambdaDurations;
  /** Wall-clock duration of one enrichment execution (billed in 100 ms increments). */
  readonly sfnDurationMs: number;
  /** Bytes of the deployed ASL (Express memory = 50 MB + definition + data, in 64 MB chunks). */
  readonly sfnDefinitionBytes: number;
  /** Readings DeriveMetrics queries (`DEFAULT_WINDOW`). */
  readonly enrichmentWindow: number;
  /** The stage's X-Ray sampling rule (`TRACE_SAMPLING`): the first request each second, then this fraction. */
  readonly xrayReservoirPerSecond: number;
  readonly xraySampleRate: number;
  /** Stored (compressed) size of logs relative to ingested. */
  readonly logsCompressionRatio: number;
  /** Retention of function and workflow log groups, and of API access logs (CDK). */
  readonly logsRetentionMonths: { readonly functions: number; readonly access: number };
  /** Retention of the telemetry bus archive (`ARCHIVE_RETENTION_DAYS`). */
  readonly archiveRetentionMonths: number;
  /** Days a stored rollup is kept after its bucket starts (the rollups table's `retention`). */
  readonly rollupsRetentionDays: number;
  /** Powertools idempotency record lifetimes (hours) and how long TTL takes to delete an expired item. */
  readonly idempotencyTtlHours: { readonly push: number; readonly alertNotifier: number };
  readonly ttlDeletionLagHours: number;
  /** API Gateway closes a WebSocket connection after this; the dashboard reconnects and subscribes again. */
  readonly connectionLifetimeMinutes: number;
  /** The built dashboard CloudFront serves: its files and their bytes, and where the figure comes from. */
  readonly dashboardBundle: { readonly files: number; readonly bytes: number; readonly source: string };
  /** Times each dashboard's page is opened a day (each open transfers the whole bundle: an upper bound). */
  readonly dashboardLoadsPerDay: number;
  /**
   * REST methods with API Gateway's detailed (method-level) CloudWatch metrics, and the metrics each
   * writes; 0 methods when the stage does not enable them.
   */
  readonly restDetailedMetrics: { readonly methods: number; readonly metricsPerMethod: number };
  /** Device ids per subscribe message the dashboard sends. */
  readonly subscribeIdsPerMessage: number;
  /** Metrics per reading of the sample the sizes were measured on. */
  readonly metricsPerReading: number;
  readonly sizes: Sizes;
  readonly routing: Routing;
  /** Units measured by driving the local cloud (`npm run cost:measure`); sensorbus is priced from them when present. */
  readonly measured?: MeasuredUnits;
}

export interface LineItem {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly priceId: PriceId;
  /** Effective USD per `perLabel` (tiers averaged over this line's share). */
  readonly unitPrice: number;
  readonly perLabel: string;
  readonly cost: number;
  readonly note?: string;
}

export interface ServiceCost {
  readonly service: string;
  readonly cost: number;
  readonly lines: readonly LineItem[];
}

export interface FreeTierSaving {
  readonly priceId: PriceId;
  readonly description: string;
  readonly always: boolean;
  readonly saving: number;
}

/** Share of devices some dashboard watches, taking dashboards to follow different devices. */
export const watchedFractionOf = (
  inputs: Pick<CostInputs, 'devices' | 'dashboards' | 'devicesPerDashboard'>,
): number =>
  inputs.devices > 0
    ? Math.min(
        1,
        (inputs.dashboards * Math.min(inputs.devices, inputs.devicesPerDashboard ?? inputs.devices)) /
          inputs.devices,
      )
    : 0;

/** Readings per upload of the devices a dashboard watches and of the others, and the watched share. */
export interface UploadShape {
  /** A watched device is answered `bufferSeconds` 0 and streams: one reading per upload. */
  readonly watchedUploadReadings: number;
  /**
   * Readings per upload of a device nobody watches, on average: it posts
   * `min(100, ⌈bufferSeconds / interval⌉)` readings at a time, and at once what it holds on each
   * crossing of an alarm's limit (`flushWhen`), two an alert.
   */
  readonly unwatchedUploadReadings: number;
  readonly watchedFraction: number;
  /** Uploads per reading over the fleet: the watched share's plus the unwatched share's. */
  readonly uploadsPerReading: number;
}

/**
 * How the fleet uploads, as the code makes it: the ingest answers a watched device 0 and the
 * others {@link UNWATCHED_BUFFER_SECONDS} (or `bufferSeconds`), and the simulated fleet, like a
 * device, holds that many seconds of readings, a full `POST /readings` at most, and posts what it
 * holds at once when a reading crosses an alarm's limit: each alert is two such crossings (out of
 * range, back within), each an upload more. `--batch` sets both kinds of upload, crossings aside.
 */
export const uploadShapeOf = (
  inputs: Pick<
    CostInputs,
    | 'devices'
    | 'dashboards'
    | 'devicesPerDashboard'
    | 'intervalSeconds'
    | 'batch'
    | 'bufferSeconds'
    | 'alertsPerDevicePerDay'
  >,
): UploadShape => {
  const watchedFraction = watchedFractionOf(inputs);
  const buffered = Math.ceil((inputs.bufferSeconds ?? UNWATCHED_BUFFER_SECONDS) / inputs.intervalSeconds);
  const scheduled = Math.min(MAX_BATCH, Math.max(1, buffered));
  const readingsPerDay = SECONDS_PER_DAY / inputs.intervalSeconds;
  const uploadsPerDay = Math.min(
    readingsPerDay,
    readingsPerDay / scheduled + 2 * inputs.alertsPerDevicePerDay,
  );
  const watchedUploadReadings = inputs.batch ?? 1;
  const unwatchedUploadReadings = inputs.batch ?? Math.max(1, readingsPerDay / uploadsPerDay);
  return {
    watchedUploadReadings,
    unwatchedUploadReadings,
    watchedFraction,
    uploadsPerReading:
      watchedFraction / watchedUploadReadings + (1 - watchedFraction) / unwatchedUploadReadings,
  };
};

const scale = (units: Units, by: number): Units =>
  Object.fromEntries(Object.entries(units).map(([unit, n]) => [unit, n * by]));

export interface Volumes {
  readonly readingsPerMonth: number;
  /** POST /readings (REST) or MQTT messages (IoT). */
  readonly requestsPerMonth: number;
  readonly authorizerInvocations: number;
  readonly authorizerCacheHitRate: number;
  readonly enrichmentExecutions: number;
  readonly customEvents: number;
  readonly ruleDeliveries: number;
  readonly lambdaInvocations: number;
  readonly dynamoWriteUnits: number;
  readonly dynamoReadUnits: number;
  readonly websocketPushes: number;
  readonly logGigabytes: number;
}

export interface Estimate {
  readonly design: Design;
  readonly title: string;
  readonly services: readonly ServiceCost[];
  readonly total: number;
  readonly perDevice: number;
  readonly perMillionReadings: number;
  readonly volumes: Volumes;
  /** What the free tiers would take off `total` (not applied to it). */
  readonly freeTier: readonly FreeTierSaving[];
  /** The measured units per reading this estimate multiplied (sensorbus, when measured). */
  readonly unitsPerReading?: UnitsPerReading;
  /** Average load per second on what the quotas limit. */
  readonly rates: Rates;
}

export interface UnitsPerReading {
  readonly source: 'measured';
  /** The commit the units were measured at. */
  readonly commit: string;
  /** Average readings per upload over the fleet (watched devices stream, the others buffer). */
  readonly batch: number;
  readonly watchedUploadReadings: number;
  readonly unwatchedUploadReadings: number;
  readonly watchedFraction: number;
  readonly units: Units;
}

/**
 * Average rates of a month (per second) and the concurrency they imply. The quota report reads them
 * as its `QuotaLoads` (`quotas.ts`), with the connection rate and the stage's sizing added.
 */
export interface Rates
  extends Omit<
    QuotaLoads,
    'uploadsPerSecond' | 'newWebSocketConnectionsPerSecond' | 'stageRateLimit' | 'reservedConcurrency'
  > {
  /** The uploads' API requests per second (on either front door; 0 for the IoT Core alternative). */
  readonly requestsPerSecond: number;
}

interface Use {
  readonly item: string;
  readonly quantity: number;
  readonly priceId: PriceId;
  readonly note?: string;
}

const GB = 1024 ** 3;
export const SERVICE_ORDER = [
  'IoT Core',
  'API Gateway',
  'Lambda',
  'DynamoDB',
  'EventBridge',
  'EventBridge Scheduler',
  'Step Functions',
  'SNS',
  'CloudWatch Logs',
  'CloudWatch',
  'CloudFront',
  'S3',
  'X-Ray',
  'KMS',
  'Secrets Manager',
  'Data transfer',
];

const fmt = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 100) / 100);

/** X-Ray traces recorded for `roots` root requests a month under the default sampling rule. */
export const sampledTraces = (
  roots: number,
  secondsPerMonth: number,
  reservoir: number,
  rate: number,
): number => {
  const reserved = Math.min(roots, reservoir * secondsPerMonth);
  return reserved + rate * (roots - reserved);
};

/**
 * One run of the silence check at a fleet's size: the devices table read by the parallel Scan's
 * segments at once (`silenceScanSegments` of `infra/fleet.ts`, the number the stage deploys), and
 * every device parsed and evaluated on the function's one thread.
 */
export const silenceCheckMs = (ms: LambdaDurations, devices: number): number =>
  ms.silenceCheckBase +
  (ms.silenceCheckPerThousandDevices * devices) / 1000 / silenceScanSegments(devices) +
  (ms.silenceCheckCpuPerThousandDevices * devices) / 1000;

/** The assumed warm duration of one invocation of a function on AWS (local durations are not priced). */
export const lambdaMsOf = (
  fn: string,
  ms: LambdaDurations,
  batch: number,
  watchers: number,
  devices: number,
): number => {
  switch (fn) {
    case 'ingest':
      return ms.ingestBase + ms.ingestPerReading * batch;
    case 'push':
      return ms.pushBase + ms.pushPerConnection * watchers;
    // A function whose duration does not depend on its work has its own figure, under its own name.
    case 'deviceKeyAuthorizer':
    case 'deriveMetrics':
    case 'evaluateAlarms':
    case 'alertHistory':
    case 'alertNotifier':
    case 'announce':
      return ms[fn];
    case 'silenceCheck':
      return silenceCheckMs(ms, devices);
    default:
      return ms.other;
  }
};

/**
 * The rollups a device has stored after `days`: each stored size's buckets of those days, up to
 * that size's retention (`retentionDaysOf`), that hold a reading (every one when the device reports
 * more often than the size, else one per reading).
 */
export const storedRollupsPerDevice = (
  days: number,
  retentionDays: number,
  intervalSeconds: number,
): number =>
  STORED_SIZES.reduce(
    (sum, size) =>
      sum +
      ((Math.min(days, retentionDaysOf(size, retentionDays)) * 86_400_000) / BUCKET_MS[size]) *
        Math.min(1, BUCKET_MS[size] / (intervalSeconds * 1000)),
    0,
  );

/**
 * The units of a measured upload without a device-key authorizer's invocations, which the model
 * prices itself for the REST front door's what-if. The key's read stays: the ingest function makes
 * it on every request behind the HTTP API, as the uncached authorizer did behind the REST API.
 */
const withoutAuthorizer = (units: Units): Units =>
  Object.fromEntries(Object.entries(units).filter(([unit]) => !unit.endsWith('/deviceKeyAuthorizer')));

/** The share of requests the device-key authorizer's cache answers, given a device's request period. */
export const authorizerCacheHitRate = (requestPeriodSeconds: number, ttlSeconds: number): number =>
  1 - 1 / Math.max(1, Math.ceil(ttlSeconds / requestPeriodSeconds));

/** Events per bus and detail-type, delivered through the routing in bus order. */
const route = (
  routing: Routing,
  published: Readonly<Record<string, number>>,
): {
  events: Record<string, Record<string, number>>;
  deliveries: { bus: string; rule: string; count: number }[];
  functionCalls: Record<string, Record<string, number>>;
  executions: Record<string, number>;
  topicPublishes: number;
} => {
  const first = routing.buses[0]?.name ?? 'telemetry';
  const events: Record<string, Record<string, number>> = { [first]: { ...published } };
  const deliveries: { bus: string; rule: string; count: number }[] = [];
  const functionCalls: Record<string, Record<string, number>> = {};
  const executions: Record<string, number> = {};
  let topicPublishes = 0;
  routing.buses.forEach(({ name: bus }, order) => {
    for (const r of routing.routes.filter((candidate) => candidate.bus === bus)) {
      const onBus = events[bus] ?? {};
      let count = 0;
      for (const detailType of r.detailTypes) {
        const n = onBus[detailType] ?? 0;
        count += n;
        const target = r.target;
        if (target.kind === 'bus') {
          if (routing.buses.findIndex((b) => b.name === target.bus) <= order)
            throw new Error(`Rule ${r.rule} sends events back to an earlier bus`);
          const next = events[target.bus] ?? {};
          next[detailType] = (next[detailType] ?? 0) + n;
          events[target.bus] = next;
        } else if (target.kind === 'function') {
          const calls = functionCalls[target.function] ?? {};
          calls[detailType] = (calls[detailType] ?? 0) + n;
          functionCalls[target.function] = calls;
        } else if (target.kind === 'stateMachine') {
          executions[target.stateMachine] = (executions[target.stateMachine] ?? 0) + n;
        } else {
          topicPublishes += n;
        }
      }
      deliveries.push({ bus, rule: r.rule, count });
    }
  });
  return { events, deliveries, functionCalls, executions, topicPublishes };
};

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

/** Prices the uses: tiers apply to each price's monthly total, shared out over its lines. */
const priceUses = (
  uses: readonly Use[],
  prices: PriceTable,
): { services: ServiceCost[]; freeTier: FreeTierSaving[] } => {
  const totals = new Map<PriceId, number>();
  for (const use of uses) totals.set(use.priceId, (totals.get(use.priceId) ?? 0) + use.quantity);
  const costs = new Map<PriceId, number>();
  for (const [id, quantity] of totals) costs.set(id, tieredCost(prices[id], quantity));

  const lines: LineItem[] = uses.map((use) => {
    const price: Price = prices[use.priceId];
    const total = totals.get(use.priceId) ?? 0;
    const cost = total > 0 ? ((costs.get(use.priceId) ?? 0) * use.quantity) / total : 0;
    return {
      service: price.service,
      item: use.item,
      quantity: use.quantity,
      unit: price.unit,
      priceId: use.priceId,
      unitPrice: use.quantity > 0 ? (cost / use.quantity) * price.per : (price.tiers[0]?.price ?? 0),
      perLabel: price.perLabel,
      cost,
      ...(use.note ? { note: use.note } : {}),
    };
  });
  const byService = new Map<string, LineItem[]>();
  for (const line of lines) byService.set(line.service, [...(byService.get(line.service) ?? []), line]);
  const services = [...byService]
    .map(([service, serviceLines]) => ({
      service,
      cost: sum(serviceLines.map((l) => l.cost)),
      lines: serviceLines,
    }))
    .sort((a, b) => {
      const rank = (s: string) =>
        SERVICE_ORDER.includes(s) ? SERVICE_ORDER.indexOf(s) : SERVICE_ORDER.length;
      return rank(a.service) - rank(b.service);
    });

  const freeTier: FreeTierSaving[] = [];
  for (const [id, quantity] of totals) {
    const free = prices[id].freeTier;
    if (!free) continue;
    const saving =
      tieredCost(prices[id], quantity) - tieredCost(prices[id], Math.max(0, quantity - free.quantity));
    if (saving > 0)
      freeTier.push({
        priceId: id,
        description: `${prices[id].service} ${free.description}`,
        always: free.always,
        saving,
      });
  }
  return { services, freeTier };
};

/** The monthly estimate of one design. */
/**
 * The items of the enrichments table an upload of `batch` readings `intervalSeconds` apart writes:
 * one per UTC hour they span, on average over the upload's phase against the hour (as the
 * rollups' buckets).
 */
export const enrichmentItemsOfUpload = (batch: number, intervalSeconds: number): number =>
  1 + (batch - 1) * Math.min(1, intervalSeconds / 3600);

/** Write units of `readings` enriched readings stored as `items` items: each item's round up on its own. */
export const enrichmentWriteUnits = (
  s: Pick<Sizes, 'enrichmentItemBase' | 'enrichmentItemPerReading'>,
  readings: number,
  items: number,
): number => items * writeUnits(s.enrichmentItemBase + (s.enrichmentItemPerReading * readings) / items);

/**
 * Write units an unwatched device's upload of `batch` readings `intervalSeconds` apart spends on
 * the readings table, which packs them by the hour (`handlers/ingest/ingest.ts`): one write per
 * hour item it touches, each billed on the item as it then is (the hour's readings up to the
 * item's byte budget; over an hour of uploads an item holds on average half of them plus the
 * upload's), plus the refused append when its first hour is a new one (the later hours are read
 * first, {@link packedReadingReadUnits}); readings past the budget are puts of their own.
 */
export const packedReadingWriteUnits = (
  s: Pick<Sizes, 'hourItemBase' | 'hourItemPerReading' | 'readingItem'>,
  batch: number,
  intervalSeconds: number,
): number => {
  const items = enrichmentItemsOfUpload(batch, intervalSeconds);
  const { perItem, overflowShare } = hourItemFill(s, intervalSeconds);
  const held = (perItem + Math.min(batch / items, perItem)) / 2;
  return (
    items * writeUnits(s.hourItemBase + s.hourItemPerReading * held) +
    newFirstHours(intervalSeconds) +
    batch * overflowShare * writeUnits(s.readingItem)
  );
};

/** How often an upload's first hour is one the device's previous upload did not reach: when its first reading opens the hour. */
const newFirstHours = (intervalSeconds: number): number => Math.min(1, intervalSeconds / 3600);

/**
 * Read units an unwatched device's upload spends on the readings table: a consistent Query of each
 * hour after its first (most often new, so read before it is created), and when its first hour is
 * new, the read of the refused append's item and the Query before creating it.
 */
export const packedReadingReadUnits = (batch: number, intervalSeconds: number): number =>
  enrichmentItemsOfUpload(batch, intervalSeconds) - 1 + 2 * newFirstHours(intervalSeconds);

/**
 * Write units a watched device's upload spends on the readings table: a put of each reading, and
 * once an hour the hour item created full (a marker) that sends the hour's readings to puts.
 */
export const watchedReadingWriteUnits = (
  s: Pick<Sizes, 'readingItem'>,
  batch: number,
  intervalSeconds: number,
): number =>
  batch * writeUnits(s.readingItem) +
  Math.min(enrichmentItemsOfUpload(batch, intervalSeconds), (batch * intervalSeconds) / 3600);

/**
 * The share of an unwatched device's uploads, `batch` readings on average, that are a lone reading:
 * none from 2 on, all at 1. A lone reading is stored as a watched device's is, a put behind its
 * hour's marker (`handlers/ingest/ingest.ts`), since an append is billed on the whole hour item.
 */
const loneShare = (batch: number): number => Math.min(1, Math.max(0, 2 - batch));

/** Write units of an unwatched device's upload of `batch` readings on average: packed, or as a watched device's when lone. */
export const unwatchedReadingWriteUnits = (
  s: Pick<Sizes, 'hourItemBase' | 'hourItemPerReading' | 'readingItem'>,
  batch: number,
  intervalSeconds: number,
): number => {
  const lone = loneShare(batch);
  return (
    lone * watchedReadingWriteUnits(s, 1, intervalSeconds) +
    (1 - lone) * packedReadingWriteUnits(s, Math.max(2, batch), intervalSeconds)
  );
};

/** Read units of an unwatched device's upload of `batch` readings on average: a lone reading's hour item (a marker) is read eventually consistent first. */
export const unwatchedReadingReadUnits = (
  s: Pick<Sizes, 'hourItemBase'>,
  batch: number,
  intervalSeconds: number,
): number => {
  const lone = loneShare(batch);
  return (
    lone * readUnits(s.hourItemBase, 'eventual') +
    (1 - lone) * packedReadingReadUnits(Math.max(2, batch), intervalSeconds)
  );
};

/** How many readings of an hour its item packs within {@link PACKED_HOUR_BYTES}, and the share of the hour's readings past them. */
export const hourItemFill = (
  s: Pick<Sizes, 'hourItemBase' | 'hourItemPerReading'>,
  intervalSeconds: number,
): { perItem: number; overflowShare: number } => {
  const perHour = Math.max(1, 3600 / intervalSeconds);
  const fit = Math.max(1, Math.floor((PACKED_HOUR_BYTES - s.hourItemBase) / s.hourItemPerReading));
  const perItem = Math.min(perHour, fit);
  return { perItem, overflowShare: 1 - perItem / perHour };
};

export const estimateDesign = (
  design: Design,
  inputs: CostInputs,
  a: Assumptions,
  prices: PriceTable,
): Estimate => {
  const s = a.sizes;
  const ms = a.lambdaMs;
  const secondsPerMonth = a.daysPerMonth * 86_400;
  const minutesPerMonth = a.daysPerMonth * 1_440;
  const N = inputs.devices;
  const rest = design === 'rest';
  const shape = uploadShapeOf(inputs);
  // The schedules as a stage sized for this fleet runs them: the silence check's follows the interval.
  const schedules = a.routing.schedules.map((schedule) =>
    schedule.function === 'silenceCheck'
      ? {
          ...schedule,
          everyMinutes: silenceCheckMinutes({ devices: N, uploadSeconds: inputs.intervalSeconds }),
        }
      : schedule,
  );
  const readings = (N * secondsPerMonth) / inputs.intervalSeconds;
  const requests = rest ? readings * shape.uploadsPerReading : readings;
  /** Average readings per upload: the IoT Core alternative's message carries one. */
  const K = readings > 0 ? readings / requests : 1;
  /** Uploads a month of watched devices (streaming) and of the others (buffering). */
  const watchedRequests = (readings * shape.watchedFraction) / shape.watchedUploadReadings;
  const unwatchedRequests = requests - watchedRequests;
  const ttl = a.routing.authorizerCacheTtlSeconds;
  /** Requests the device-key authorizer's cache misses: each device class posts at its own period. */
  const authorizerMisses = (): number =>
    watchedRequests *
      (1 - authorizerCacheHitRate(shape.watchedUploadReadings * inputs.intervalSeconds, ttl)) +
    unwatchedRequests *
      (1 - authorizerCacheHitRate(shape.unwatchedUploadReadings * inputs.intervalSeconds, ttl));
  const requestPeriods =
    shape.watchedUploadReadings === shape.unwatchedUploadReadings
      ? `a request every ${fmt(K * inputs.intervalSeconds)} s per key`
      : `a request every ${fmt(shape.watchedUploadReadings * inputs.intervalSeconds)} s (watched) or ${fmt(shape.unwatchedUploadReadings * inputs.intervalSeconds)} s per key`;
  const followed = Math.min(N, inputs.devicesPerDashboard ?? N);
  const subscribers = N > 0 ? (inputs.dashboards * followed) / N : 0;
  const alertsRaised = N * inputs.alertsPerDevicePerDay * a.daysPerMonth;
  // The enrichments table: one item per UTC hour an upload's readings span, on average over the
  // upload's phase against the hour (as the rollups' buckets).
  const enrichmentItemsPerUpload = (batch: number) => enrichmentItemsOfUpload(batch, inputs.intervalSeconds);
  const enrichmentUploads: [number, number][] = rest
    ? [
        [watchedRequests, shape.watchedUploadReadings],
        [unwatchedRequests, shape.unwatchedUploadReadings],
      ]
    : [[readings, 1]];
  const enrichmentItems = sum(enrichmentUploads.map(([n, batch]) => n * enrichmentItemsPerUpload(batch)));
  const enrichmentWriteUnitsOf = (batch: number) =>
    enrichmentWriteUnits(s, batch, enrichmentItemsPerUpload(batch));
  const enrichmentWrites = sum(enrichmentUploads.map(([n, batch]) => n * enrichmentWriteUnitsOf(batch)));
  // The measured uploads put 1 and 10 readings a minute apart in one item, so the units of larger
  // uploads, split over hours and rounded up per item, are worked out from the items' sizes.
  const enrichmentsUnit = `dynamodb/wru/${tables.enrichments.name}`;
  const withEnrichmentWrites = (units: Units, batch: number): Units =>
    enrichmentsUnit in units ? { ...units, [enrichmentsUnit]: enrichmentWriteUnitsOf(batch) } : units;
  // An unwatched upload packs its readings by the hour (a lone one is a put): the measured uploads
  // of 10 readings fill an hour item little, so the units of larger ones are worked out from the
  // item's size.
  const readingsUnit = `dynamodb/wru/${tables.readings.name}`;
  const readingsReadUnit = `dynamodb/rru/${tables.readings.name}`;
  const withPackedReadingWrites = (units: Units, batch: number): Units =>
    readingsUnit in units
      ? {
          ...units,
          [readingsUnit]: unwatchedReadingWriteUnits(s, batch, inputs.intervalSeconds),
          [readingsReadUnit]: unwatchedReadingReadUnits(s, batch, inputs.intervalSeconds),
        }
      : units;
  // The measured watched uploads begin an hour every other upload; a fleet's, once an hour.
  const withWatchedReadingWrites = (units: Units, batch: number, watched: boolean): Units =>
    watched && readingsUnit in units
      ? { ...units, [readingsUnit]: watchedReadingWriteUnits(s, batch, inputs.intervalSeconds) }
      : units;

  const uses: Use[] = [];
  const add = (priceId: PriceId, item: string, quantity: number, note?: string) =>
    uses.push({ priceId, item, quantity, ...(note ? { note } : {}) });
  const lambdaCalls: { name: string; invocations: number; msEach: number; note: string }[] = [];
  const lambda = (name: string, invocations: number, msEach: number, note: string) =>
    lambdaCalls.push({ name, invocations, msEach, note });
  const wru = (item: string, units: number, note: string) => add('dynamoWrite', item, units, note);
  const rru = (item: string, units: number, note: string) => add('dynamoRead', item, units, note);

  const measured = rest ? a.measured : undefined;
  const frontDoor: FrontDoor = inputs.frontDoor ?? 'http';
  const watchedFraction = watchedFractionOf(inputs);
  const watchersPerWatched = watchedFraction > 0 ? subscribers / watchedFraction : 0;
  let authorizerInvocations = 0;
  let hitRate = 0;
  /**
   * The device-key authorizer of the REST front door's what-if runs on the requests its cache
   * misses; behind the HTTP API the ingest function checks the key itself and no authorizer runs.
   */
  const priceAuthorizer = () => {
    if (frontDoor !== 'rest') return;
    authorizerInvocations = authorizerMisses();
    hitRate = requests > 0 ? 1 - authorizerInvocations / requests : 0;
    lambda(
      'deviceKeyAuthorizer',
      authorizerInvocations,
      ms.deviceKeyAuthorizer,
      `cache misses: ${requestPeriods}, ${ttl} s TTL → ${fmt(hitRate * 100)}% hits`,
    );
  };
  let enrichExecutions = 0;
  /** The enrichment workflow's Express executions: their requests, and their duration at the memory their data needs. */
  const priceEnrichmentWorkflow = (startedBy: string, duration: string) => {
    const billedMemoryMb =
      Math.ceil((50 + (a.sfnDefinitionBytes + s.sfnExecutionData) / 1024 ** 2) / 64) * 64;
    const billedSeconds = Math.ceil(a.sfnDurationMs / 100) / 10;
    add('sfnExpressRequests', 'enrich-reading executions', enrichExecutions, startedBy);
    add(
      'sfnExpressDuration',
      'enrich-reading duration',
      enrichExecutions * billedSeconds * (billedMemoryMb / 1024),
      `${duration} → ${billedSeconds} s billed × ${billedMemoryMb} MB`,
    );
  };
  let customEvents = 0;
  let forwardedEvents = 0;
  let ruleDeliveries = 0;
  let websocketPushes = 0;
  let pushBytes = 0;
  let pushInvocations = 0;
  let notifierInvocations = 0;
  let scheduledRuns = 0;
  let silenceRruPerRun = 0;
  let unitsPerReading: UnitsPerReading | undefined;
  const tableWrites: Record<string, number> = {};
  const tableReads: Record<string, number> = {};

  if (measured) {
    // ---- Measured: what the code did per upload, per alert and per scheduled run, times the fleet's counts.
    // A REST front door's authorizer is priced below from its cache TTL and the posting interval.
    // An upload of a watched device (streamed, with its watchers) and of an unwatched one
    // (buffered), weighted by their shares of the month's uploads.
    const watchedUpload = withWatchedReadingWrites(
      withEnrichmentWrites(
        unitsPerUpload(measured, {
          batch: shape.watchedUploadReadings,
          watchedFraction: watchedFraction > 0 ? 1 : 0,
          watchersPerWatchedDevice: watchersPerWatched,
          intervalSeconds: inputs.intervalSeconds,
        }),
        shape.watchedUploadReadings,
      ),
      shape.watchedUploadReadings,
      watchedFraction > 0,
    );
    const unwatchedUpload = withPackedReadingWrites(
      withEnrichmentWrites(
        unitsPerUpload(measured, {
          batch: shape.unwatchedUploadReadings,
          watchedFraction: 0,
          watchersPerWatchedDevice: 0,
          intervalSeconds: inputs.intervalSeconds,
        }),
        shape.unwatchedUploadReadings,
      ),
      shape.unwatchedUploadReadings,
    );
    const perUpload = withoutAuthorizer(
      requests > 0
        ? combineUnits([
            [watchedRequests / requests, watchedUpload],
            [unwatchedRequests / requests, unwatchedUpload],
          ])
        : {},
    );
    unitsPerReading = {
      source: 'measured',
      commit: measured.commit,
      batch: K,
      watchedUploadReadings: shape.watchedUploadReadings,
      unwatchedUploadReadings: shape.unwatchedUploadReadings,
      watchedFraction,
      units: scale(perUpload, 1 / K),
    };
    // The key's read is measured (the ingest function's, one a request, strongly consistent).
    priceAuthorizer();
    const monthly: { units: Units; origin: string }[] = [
      {
        units: scale(perUpload, requests),
        origin: `uploads of ${fmt(shape.watchedUploadReadings)} (${fmt(watchedFraction * 100)}% watched) and ${fmt(shape.unwatchedUploadReadings)}`,
      },
      { units: scale(measured.perAlert, alertsRaised), origin: 'alerts raised and resolved' },
    ];
    for (const schedule of schedules) {
      const runs = minutesPerMonth / schedule.everyMinutes;
      scheduledRuns += runs;
      add('schedulerInvocations', `${schedule.name} every ${schedule.everyMinutes} min`, runs);
      const run = measured.schedules[schedule.name];
      if (!run)
        throw new Error(`No measured run of the schedule "${schedule.name}": run npm run cost:measure`);
      const fleetScale = run.devices > 0 ? N / run.devices : 0;
      const devicesReads = `dynamodb/rru/${a.routing.devicesTable}`;
      // The Scan is billed on the size of the items it reads, rounded up to 4 KB per page: the few
      // devices of a measured run fill one page, whose rounding says little of a fleet's, so the
      // Scan is priced from the size of the sample device item (its window as the code stores it).
      const perRun = Object.fromEntries(
        Object.entries(run.perRun).map(([unit, n]) => [
          unit,
          unit === devicesReads && schedule.function === 'silenceCheck'
            ? readUnits(N * s.deviceItem, 'eventual')
            : unit.startsWith(devicesReads)
              ? n * fleetScale
              : n,
        ]),
      );
      if (schedule.function === 'silenceCheck')
        silenceRruPerRun = perRun[`dynamodb/rru/${a.routing.devicesTable}`] ?? 0;
      monthly.push({ units: scale(perRun, runs), origin: `${schedule.name} runs` });
    }
    const ruleTargets = new Set(
      a.routing.routes.flatMap((r) => (r.target.kind === 'function' ? [r.target.function] : [])),
    );
    for (const { units, origin } of monthly) {
      const flow = measuredFlow(units, origin, frontDoor);
      for (const use of flow.uses) add(use.priceId, use.item, use.quantity, use.note);
      for (const [fn, n] of Object.entries(flow.invocations)) {
        const keyRead = fn === 'ingest' && frontDoor === 'http' ? ms.ingestKeyRead : 0;
        lambda(
          fn,
          n,
          lambdaMsOf(fn, ms, K, watchersPerWatched, N) + keyRead,
          `measured invocations, ${origin}`,
        );
        if (fn === 'push') pushInvocations += n;
        if (fn === 'alertNotifier') notifierInvocations += n;
        if (ruleTargets.has(fn)) ruleDeliveries += n;
      }
      enrichExecutions += flow.executions;
      ruleDeliveries += flow.executions + flow.forwardedEvents + flow.publishes;
      customEvents += flow.customEvents;
      forwardedEvents += flow.forwardedEvents;
      websocketPushes += flow.websocketMessages;
      if (flow.publishes > 0) {
        add(
          'snsEmail',
          `email notifications (${origin})`,
          flow.publishes * inputs.emailSubscribers,
          `${inputs.emailSubscribers} email subscription(s) matching every alert`,
        );
        add(
          'kmsRequests',
          `KMS requests for the encrypted topic (${origin})`,
          flow.publishes,
          'assumed one data-key request per publish (upper bound)',
        );
      }
      for (const [unit, n] of Object.entries(units)) {
        const [service, kind, table = ''] = unit.split('/');
        if (service !== 'dynamodb') continue;
        const into = kind === 'wru' ? tableWrites : tableReads;
        into[table] = (into[table] ?? 0) + n;
      }
    }
    pushBytes = websocketPushes * s.pushReadingEnriched;
    priceEnrichmentWorkflow('measured: started by the enrich rule', `${a.sfnDurationMs} ms (assumed)`);
    const archivedGb = ((customEvents - forwardedEvents) * s.readingRecordedDelivered) / GB;
    if (a.routing.buses.some((b) => b.archived) && archivedGb > 0) {
      add('eventsArchive', 'archive: events processed (telemetry bus)', archivedGb, 'every PutEvents entry');
      add(
        'eventsArchiveStorage',
        `archive storage after ${fmt(inputs.months)} month(s)`,
        archivedGb * Math.min(inputs.months, a.archiveRetentionMonths),
        `kept ${fmt(a.archiveRetentionMonths)} months (ARCHIVE_RETENTION_DAYS)`,
      );
    }
  } else {
    // ---- Front door -------------------------------------------------------------------------
    if (rest) {
      add(
        frontDoor === 'rest' ? 'apigwRestRequests' : 'apigwHttpRequests',
        `${frontDoor === 'rest' ? 'REST' : 'HTTP API'} requests (POST /readings)`,
        requests,
        `${fmt(readings)} readings ÷ ${fmt(K)} per upload`,
      );
      lambda(
        'ingest',
        requests,
        ms.ingestBase + ms.ingestPerReading * K + (frontDoor === 'http' ? ms.ingestKeyRead : 0),
        `one per request; ${ms.ingestBase} + ${ms.ingestPerReading} ms × ${fmt(K)} readings${frontDoor === 'http' ? ` + ${ms.ingestKeyRead} ms for the device key` : ''}`,
      );
      priceAuthorizer();
      rru(
        `device keys: GetItem (${frontDoor === 'rest' ? 'authorizer' : 'ingest'})`,
        (frontDoor === 'rest' ? authorizerInvocations : requests) * readUnits(s.apiKeyIndexEntry, 'strong'),
        frontDoor === 'rest'
          ? 'one per authorizer run, strongly consistent (a revoked key is refused at once)'
          : 'one per request by the ingest function, strongly consistent (a revoked key is refused at once), in one BatchGetItem with the upload view of the device the body names',
      );
      wru(
        'readings: conditional PutItem (watched) and hour items (unwatched)',
        watchedRequests * watchedReadingWriteUnits(s, shape.watchedUploadReadings, inputs.intervalSeconds) +
          unwatchedRequests *
            unwatchedReadingWriteUnits(s, shape.unwatchedUploadReadings, inputs.intervalSeconds),
        `watched: 1 put of ${s.readingItem} B a reading; unwatched: one write per hour item an upload touches (${s.hourItemBase} B + ${s.hourItemPerReading} B a reading), a lone reading a put; the stream record is the outbox`,
      );
      lambda(
        'announce',
        requests,
        ms.announce,
        'one stream batch per upload (an upper bound: a busy shard batches several), one PutEvents',
      );
    } else {
      add(
        'iotConnectivity',
        'connection minutes (devices always connected)',
        N * minutesPerMonth,
        `${fmt(N)} devices × ${fmt(minutesPerMonth)} min`,
      );
      const units = Math.ceil((s.readingJson + s.mqttTopic) / 5120);
      add(
        'iotMessaging',
        'MQTT PUBLISH messages (one reading each)',
        requests * units,
        `${s.readingJson + s.mqttTopic} B each (payload + topic) → ${units} × 5 KB; PUBACK and pings are free`,
      );
      add(
        'iotRulesTriggered',
        'rules triggered (one rule per message)',
        requests * units,
        'SELECT * FROM sensorbus/+/readings',
      );
      add('iotActions', 'rule actions (DynamoDBv2 + StepFunctions)', requests * 2, 'two actions per message');
      wru(
        'readings: PutItem (rule’s DynamoDBv2 action)',
        readings * writeUnits(s.readingItem),
        'not conditional (a repeated message overwrites and re-enriches)',
      );
    }

    // ---- Events through the topology -------------------------------------------------------
    const published: Record<string, number> = {
      ...(rest ? { ReadingRecorded: requests } : {}),
      ReadingEnriched: requests,
      AlertRaised: alertsRaised,
      AlertResolved: alertsRaised,
    };
    const flow = route(a.routing, published);
    enrichExecutions = sum(Object.values(flow.executions)) + (rest ? 0 : requests);
    const eventSizeOf: Record<string, number> = {
      ReadingRecorded: s.readingRecordedEvent,
      ReadingEnriched: s.readingEnrichedEvent,
      AlertRaised: s.alertEvent,
      AlertResolved: s.alertEvent,
    };
    const deliveredSizeOf: Record<string, number> = {
      ReadingRecorded: s.readingRecordedDelivered,
      ReadingEnriched: s.readingEnrichedDelivered,
      AlertRaised: s.alertDelivered,
      AlertResolved: s.alertDelivered,
    };
    const pushSizeOf: Record<string, number> = {
      ReadingRecorded: s.pushReadingRecorded,
      ReadingEnriched: s.pushReadingEnriched,
      AlertRaised: s.pushAlert,
      AlertResolved: s.pushAlert,
    };
    for (const [bus, byType] of Object.entries(flow.events)) {
      for (const [detailType, count] of Object.entries(byType)) {
        if (count <= 0) continue;
        const chunks = Math.ceil((eventSizeOf[detailType] ?? 1024) / 65_536);
        customEvents += count * chunks;
        const origin =
          bus === a.routing.buses[0]?.name
            ? detailType === 'ReadingRecorded'
              ? 'PutEvents by ingest, ⌈K/10⌉ calls per request'
              : 'PutEvents by the enrich-reading workflow'
            : 'forwarded by the to-websocket rule (bus-to-bus is charged as a custom event)';
        add(
          'eventsCustom',
          `${detailType} on ${bus}`,
          count * chunks,
          `${origin}; ${eventSizeOf[detailType] ?? '?'} B → ${chunks} × 64 KB`,
        );
      }
    }
    ruleDeliveries = sum(flow.deliveries.map((d) => d.count));
    add(
      'eventsDelivery',
      'rule matches delivered to targets',
      ruleDeliveries,
      flow.deliveries
        .filter((d) => d.count > 0)
        .map((d) => `${d.rule} ${fmt(d.count)}`)
        .join(', '),
    );
    const archivedGb =
      sum(
        a.routing.buses
          .filter((b) => b.archived)
          .flatMap((b) =>
            Object.entries(flow.events[b.name] ?? {}).map(([dt, n]) => n * (deliveredSizeOf[dt] ?? 1024)),
          ),
      ) / GB;
    if (archivedGb > 0) {
      add(
        'eventsArchive',
        'archive: events processed (telemetry bus)',
        archivedGb,
        'the whole event envelope per event',
      );
      add(
        'eventsArchiveStorage',
        `archive storage after ${fmt(inputs.months)} month(s)`,
        archivedGb * Math.min(inputs.months, a.archiveRetentionMonths),
        `kept ${fmt(a.archiveRetentionMonths)} months (ARCHIVE_RETENTION_DAYS)`,
      );
    }

    // ---- Enrichment workflow -----------------------------------------------------------------
    const alertTransitions = alertsRaised * 2;
    priceEnrichmentWorkflow(
      rest ? 'one per ReadingRecorded (enrich rule)' : 'started by the rule’s StepFunctions action',
      `${a.sfnDurationMs} ms`,
    );
    rru(
      'devices: GetItem (LoadDevice)',
      enrichExecutions * readUnits(s.deviceItem, 'eventual'),
      'eventually consistent; a projection does not reduce the units',
    );
    lambda('deriveMetrics', enrichExecutions, ms.deriveMetrics, 'task DeriveMetrics');
    rru(
      'devices: consistent GetItem window (DeriveMetrics)',
      enrichExecutions * readUnits(s.deviceItem, 'strong'),
      `the device's rolling window of ${a.enrichmentWindow}; a projection does not reduce the units`,
    );
    wru(
      'devices: UpdateItem window and lastReading (DeriveMetrics)',
      enrichExecutions * writeUnits(s.deviceItem),
      "version-conditional, once per upload; it records the upload's newest reading as the device's lastReading",
    );
    wru(
      'enrichments: PutItem per hour of an upload (DeriveMetrics)',
      enrichmentWrites,
      `one item per UTC hour an upload's readings span (${fmt(enrichmentItemsPerUpload(shape.unwatchedUploadReadings))} for an unwatched upload), ${s.enrichmentItemBase} B + ${s.enrichmentItemPerReading} B a reading`,
    );
    lambda('evaluateAlarms', enrichExecutions, ms.evaluateAlarms, 'task EvaluateAlarms');
    rru(
      'devices: consistent GetItem (EvaluateAlarms)',
      enrichExecutions * readUnits(s.deviceItem, 'strong'),
      'read-modify-write of alarm states',
    );
    wru(
      'devices: UpdateItem alarm states (on a transition)',
      alertTransitions * writeUnits(s.deviceItem),
      `only when an alarm changes state: ${fmt(inputs.alertsPerDevicePerDay)} raise + resolve per device-day`,
    );

    // ---- Rule targets ------------------------------------------------------------------------
    const idempotencyWrites = 2 * writeUnits(s.idempotencyRecord);
    for (const [fn, byType] of Object.entries(flow.functionCalls)) {
      const invocations = sum(Object.values(byType));
      if (invocations <= 0) continue;
      if (fn === 'push') {
        pushInvocations = invocations;
        for (const [dt, n] of Object.entries(byType)) {
          const frames = Math.ceil((pushSizeOf[dt] ?? 1024) / 32_768);
          websocketPushes += n * subscribers * frames;
          pushBytes += n * subscribers * (pushSizeOf[dt] ?? 1024);
        }
        lambda(
          fn,
          invocations,
          ms.pushBase + ms.pushPerConnection * subscribers,
          `one per event on the websocket bus; ${fmt(subscribers)} subscribed connection(s) per device`,
        );
        wru(
          'idempotency: PutItem + UpdateItem (push)',
          invocations * idempotencyWrites,
          'Powertools record per event, 1 h TTL',
        );
        rru(
          'connections: Query byDevice (push)',
          invocations * readUnits(subscribers * s.subscriptionIndexEntry, 'eventual'),
          'subscribers of the event’s device',
        );
      } else if (fn === 'alertNotifier') {
        notifierInvocations = invocations;
        lambda(fn, invocations, ms.alertNotifier, 'one per alert event');
        wru(
          'idempotency: PutItem + UpdateItem (alert-notifier)',
          invocations * idempotencyWrites,
          'Powertools record per alert, 7 d TTL',
        );
      } else if (fn === 'alertHistory') {
        lambda(fn, invocations, ms.alertHistory, 'one per alert event');
        const raised = byType.AlertRaised ?? 0;
        const resolved = byType.AlertResolved ?? 0;
        wru(
          'alerts: UpdateItem (alert-history)',
          (raised * 3 + resolved * 5) * writeUnits(s.alertRecord),
          'raise: item + 2 ALL indexes; resolve: item + both indexes re-keyed (delete + put each)',
        );
      } else {
        lambda(fn, invocations, ms.other, 'invoked by a rule the model has no profile for');
      }
    }
    const snsChunks = Math.ceil(s.snsMessage / 65_536);
    const publishes = notifierInvocations * snsChunks + flow.topicPublishes;
    if (publishes > 0) {
      add('snsRequests', 'Publish to the alerts topic', publishes, 'one per alert event (alert-notifier)');
      add(
        'snsEmail',
        'email notifications',
        publishes * inputs.emailSubscribers,
        `${inputs.emailSubscribers} email subscription(s) matching every alert`,
      );
      add(
        'kmsRequests',
        'KMS requests for the encrypted topic',
        publishes,
        'assumed one data-key request per publish (upper bound)',
      );
    }
    if (websocketPushes > 0) {
      add(
        'apigwWsMessages',
        'postToConnection pushes',
        websocketPushes,
        'events × subscribed connections, 32 KB units',
      );
    }

    // ---- Schedules ---------------------------------------------------------------------------
    for (const schedule of schedules) {
      const runs = minutesPerMonth / schedule.everyMinutes;
      scheduledRuns += runs;
      add('schedulerInvocations', `${schedule.name} every ${schedule.everyMinutes} min`, runs);
      if (schedule.function === 'silenceCheck') {
        lambda(
          schedule.function,
          runs,
          silenceCheckMs(ms, N),
          `scheduled; scans every device in ${silenceScanSegments(N)} segment(s)`,
        );
        silenceRruPerRun = readUnits(N * s.deviceItem, 'eventual');
        rru(
          'devices: Scan (silence check)',
          runs * silenceRruPerRun,
          `${fmt(N)} × ${s.deviceItem} B every run`,
        );
      } else {
        lambda(schedule.function, runs, ms.other, 'scheduled');
      }
    }
  }

  // ---- Dashboards (WebSocket) --------------------------------------------------------------
  const sessions = (inputs.dashboards * minutesPerMonth) / a.connectionLifetimeMinutes;
  const subscribeMessages = Math.ceil(followed / a.subscribeIdsPerMessage);
  if (inputs.dashboards > 0) {
    add(
      'apigwWsMinutes',
      'connection minutes (dashboards)',
      inputs.dashboards * minutesPerMonth,
      `${fmt(inputs.dashboards)} dashboard(s) around the clock`,
    );
    add(
      'apigwWsMessages',
      'subscribe messages and their answers',
      sessions * subscribeMessages * 2,
      `a new connection every ${a.connectionLifetimeMinutes} min, ${subscribeMessages} subscribe message(s) of ≤${a.subscribeIdsPerMessage} ids`,
    );
    lambda('websocketAuthorizer', sessions, ms.websocketAuthorizer, '$connect');
    lambda('websocketConnections', sessions * 2, ms.websocketConnections, '$connect and $disconnect');
    lambda('websocketMessages', sessions * subscribeMessages, ms.websocketMessages, 'subscribe');
    wru(
      'connections: subscribe, connect, disconnect',
      sessions *
        (writeUnits(s.connectionItem) * 2 +
          followed * 2 * (writeUnits(s.subscriptionItem) + writeUnits(s.subscriptionIndexEntry))),
      `per connection: the connection item put and deleted, ${fmt(followed)} subscriptions (+ byDevice index) put and deleted`,
    );
    rru(
      'connections: GetItem + Query (subscribe, disconnect)',
      sessions *
        (subscribeMessages * readUnits(s.connectionItem, 'strong') +
          readUnits(s.connectionItem + followed * s.subscriptionItem, 'eventual')),
      'consistent GetItem per subscribe message; Query of the connection’s items on $disconnect',
    );
  }

  // ---- Lambda lines ------------------------------------------------------------------------
  const memoryGb = a.lambdaMemoryMb / 1024;
  for (const call of lambdaCalls) {
    if (call.invocations <= 0) continue;
    add('lambdaRequests', `${call.name}: invocations`, call.invocations, call.note);
    add(
      'lambdaArmGbSeconds',
      `${call.name}: duration`,
      call.invocations * (call.msEach / 1000) * memoryGb,
      `${fmt(call.msEach)} ms × ${a.lambdaMemoryMb} MB arm64`,
    );
  }
  const lambdaInvocations = sum(lambdaCalls.map((c) => c.invocations));

  // ---- Storage -----------------------------------------------------------------------------
  // Steady state under the readings' TTL: a retention's worth of readings is stored at any time.
  // A watched device's reading is an item of its own; an unwatched one's is packed in its hour's item.
  const { perItem: packedPerItem } = hourItemFill(s, inputs.intervalSeconds);
  const bytesPerReading = rest
    ? shape.watchedFraction * (s.readingItem + STORAGE_OVERHEAD_BYTES) +
      (1 - shape.watchedFraction) *
        (s.hourItemPerReading + (s.hourItemBase + STORAGE_OVERHEAD_BYTES) / packedPerItem)
    : s.readingItem + STORAGE_OVERHEAD_BYTES;
  const readingsGb = ((readings / a.daysPerMonth) * inputs.retentionDays * bytesPerReading) / GB;
  // The enrichments are kept as long as the readings of their hour.
  const enrichmentsGb =
    (((readings * s.enrichmentItemPerReading +
      enrichmentItems * (s.enrichmentItemBase + STORAGE_OVERHEAD_BYTES)) /
      a.daysPerMonth) *
      inputs.retentionDays) /
    GB;
  const devicesGb = (N * (s.deviceItem + s.apiKeyIndexEntry + 2 * STORAGE_OVERHEAD_BYTES)) / GB;
  const alertsGb = (inputs.months * alertsRaised * 3 * (s.alertRecord + STORAGE_OVERHEAD_BYTES)) / GB;
  const hoursPerMonth = a.daysPerMonth * 24;
  const idempotencyGb =
    (((pushInvocations / hoursPerMonth) * (a.idempotencyTtlHours.push + a.ttlDeletionLagHours) +
      (notifierInvocations / hoursPerMonth) * (a.idempotencyTtlHours.alertNotifier + a.ttlDeletionLagHours)) *
      (s.idempotencyRecord + STORAGE_OVERHEAD_BYTES)) /
    GB;
  const connectionsGb =
    (inputs.dashboards *
      (s.connectionItem +
        followed * (s.subscriptionItem + s.subscriptionIndexEntry) +
        (2 * followed + 1) * STORAGE_OVERHEAD_BYTES)) /
    GB;
  const tableGb = readingsGb + enrichmentsGb + devicesGb + alertsGb + idempotencyGb + connectionsGb;
  add(
    'dynamoStorage',
    'storage (steady state)',
    tableGb,
    `readings ${fmt(readingsGb)} GB and their enrichments ${fmt(enrichmentsGb)} GB (${fmt(inputs.retentionDays)} days kept, then TTL deletes them for free), idempotency ${fmt(idempotencyGb)} GB, alerts after ${fmt(inputs.months)} month(s) and others ${fmt(devicesGb + alertsGb + connectionsGb)} GB`,
  );
  // Rollups accumulate until their retention: per device, each stored bucket a reading fell in.
  const rollupDays = Math.min(inputs.months * a.daysPerMonth, a.rollupsRetentionDays);
  const rollupsPerDevice = storedRollupsPerDevice(rollupDays, a.rollupsRetentionDays, inputs.intervalSeconds);
  const rollupsGb = (N * rollupsPerDevice * (s.rollupItem + STORAGE_OVERHEAD_BYTES)) / GB;
  add(
    'dynamoStorage',
    `rollups storage after ${fmt(inputs.months)} month(s)`,
    rollupsGb,
    `${fmt(rollupsPerDevice)} stored ${STORED_SIZES.join(' and ')} buckets per device (${fmt(rollupDays)} days; ${STORED_SIZES.map((size) => `${size} kept ${retentionDaysOf(size, a.rollupsRetentionDays)}`).join(', ')}), ${s.rollupItem} B each`,
  );
  add('dynamoPitr', 'point-in-time recovery (every table)', tableGb + rollupsGb, 'billed on table size');

  // ---- Logs and traces ---------------------------------------------------------------------
  const loggedExecutions = a.routing.workflowLogLevel === 'ALL' ? enrichExecutions : 0;
  const sfnLogGb = (loggedExecutions * s.sfnLogBytesPerExecution) / GB;
  const accessLogGb =
    ((rest ? requests * s.apiAccessLogLine : 0) + sessions * (2 + subscribeMessages) * s.wsAccessLogLine) /
    GB;
  add(
    'logsIngest',
    `Step Functions execution logs (level ${a.routing.workflowLogLevel}, with data)`,
    sfnLogGb,
    a.routing.workflowLogLevel === 'ALL'
      ? `${s.sfnLogEventsPerExecution} log events ≈ ${fmt(s.sfnLogBytesPerExecution / 1024)} KB per execution`
      : `failed executions only (assumed rare); at level ALL it would be ${fmt((enrichExecutions * s.sfnLogBytesPerExecution) / GB)} GB`,
  );
  add(
    'logsIngest',
    rest ? 'API access logs (REST + WebSocket)' : 'API access logs (WebSocket)',
    accessLogGb,
    rest ? `${s.apiAccessLogLine} B per REST request` : `${s.wsAccessLogLine} B per WebSocket route call`,
  );
  add(
    'logsIngest',
    'Lambda logs',
    0,
    'JSON format, system log level WARN: no START/END/REPORT lines; handlers log only warnings',
  );
  add(
    'logsStorage',
    'log storage (compressed, within retention)',
    (sfnLogGb * a.logsRetentionMonths.functions + accessLogGb * a.logsRetentionMonths.access) *
      a.logsCompressionRatio,
    `retention ${a.logsRetentionMonths.functions} month (functions, workflow) / ${a.logsRetentionMonths.access} months (access); ${a.logsCompressionRatio} compression`,
  );
  if (rest && a.restDetailedMetrics.methods > 0)
    add(
      'cloudwatchMetrics',
      'REST API detailed metrics (metricsEnabled on the stage)',
      a.restDetailedMetrics.methods * a.restDetailedMetrics.metricsPerMethod,
      `${a.restDetailedMetrics.methods} methods × ${a.restDetailedMetrics.metricsPerMethod} metrics (Count, 4XXError, 5XXError, Latency, IntegrationLatency, CacheHitCount, CacheMissCount)`,
    );
  const pageLoads = inputs.dashboards * a.dashboardLoadsPerDay * a.daysPerMonth;
  add(
    'cloudfrontRequests',
    'dashboard: page and asset requests',
    pageLoads * a.dashboardBundle.files,
    `${inputs.dashboards} dashboards × ${a.dashboardLoadsPerDay} load(s)/day × ${a.dashboardBundle.files} files (${a.dashboardBundle.source})`,
  );
  add(
    'cloudfrontTransfer',
    'dashboard: bundle transferred',
    (pageLoads * a.dashboardBundle.bytes) / GB,
    `${fmt(a.dashboardBundle.bytes / 1024)} KiB a load, the whole bundle (assets are immutable and usually cached: an upper bound)`,
  );
  add(
    's3GetRequests',
    'dashboard: page revalidated at the S3 origin',
    pageLoads,
    'index.html is served no-cache, so CloudFront asks S3 on every load; hashed assets stay at the edge',
  );
  add(
    'cloudwatchAlarms',
    'operator alarms',
    a.routing.alarms,
    'one per function, workflow and dead-letter queue',
  );
  const traceRoots = rest ? requests : enrichExecutions;
  const traces =
    sampledTraces(traceRoots, secondsPerMonth, a.xrayReservoirPerSecond, a.xraySampleRate) +
    scheduledRuns +
    sessions * (3 + subscribeMessages);
  add(
    'xrayTraces',
    'traces recorded',
    traces,
    `sampling (${a.xrayReservoirPerSecond}/s + ${a.xraySampleRate * 100}%, TRACE_SAMPLING) of ${rest ? 'API requests' : 'executions'}; downstream hops join the sampled trace`,
  );

  // ---- Fixed and transfer ------------------------------------------------------------------
  add(
    'kmsKeys',
    'customer managed keys',
    a.routing.customerManagedKeys,
    'operator alarms topic (and any topic a rule targets)',
  );
  add('secretsManager', 'token signing key', a.routing.secrets);
  const responseBytes =
    K === 1
      ? s.responseSingle
      : shape.watchedFraction * s.responseSingle +
        (1 - shape.watchedFraction) *
          (s.responseBatchBase + shape.unwatchedUploadReadings * s.responseBatchItem);
  add(
    'dataTransferOut',
    'data out: API answers and WebSocket pushes',
    ((rest ? requests * responseBytes : 0) + pushBytes) / GB,
    rest ? `${responseBytes} B per answer` : 'pushes only',
  );

  const { services, freeTier } = priceUses(uses, prices);
  const total = sum(services.map((service) => service.cost));
  const perSecond = (n: number) => n / secondsPerMonth;
  const rates: Rates = {
    requestsPerSecond: perSecond(rest ? requests : 0),
    websocketMessagesPerSecond: perSecond(websocketPushes),
    lambdaConcurrency: perSecond(sum(lambdaCalls.map((c) => (c.invocations * c.msEach) / 1000))),
    putEventsEntriesPerSecond: perSecond(customEvents - forwardedEvents),
    ruleInvocationsPerSecond: perSecond(ruleDeliveries),
    expressStartsPerSecond: perSecond(enrichExecutions),
    snsPublishesPerSecond: perSecond(
      sum(uses.filter((u) => u.priceId === 'snsRequests').map((u) => u.quantity)),
    ),
    tableWritesPerSecond: Object.fromEntries(Object.entries(tableWrites).map(([t, n]) => [t, perSecond(n)])),
    tableReadsPerSecond: Object.fromEntries(Object.entries(tableReads).map(([t, n]) => [t, perSecond(n)])),
    silenceCheck: {
      readUnitsPerRun: silenceRruPerRun,
      secondsPerRun: silenceCheckMs(ms, N) / 1000,
      periodSeconds:
        60 * (schedules.find((schedule) => schedule.function === 'silenceCheck')?.everyMinutes ?? 1),
    },
  };
  return {
    design,
    title: rest
      ? 'sensorbus on AWS (API Gateway REST + Lambda + DynamoDB + EventBridge + Step Functions + SNS + WebSocket)'
      : 'AWS IoT Core + rules (MQTT in, DynamoDBv2 + Step Functions actions; the same downstream)',
    services,
    total,
    perDevice: N > 0 ? total / N : 0,
    perMillionReadings: readings > 0 ? (total / readings) * 1_000_000 : 0,
    volumes: {
      readingsPerMonth: readings,
      requestsPerMonth: requests,
      authorizerInvocations,
      authorizerCacheHitRate: hitRate,
      enrichmentExecutions: enrichExecutions,
      customEvents,
      ruleDeliveries,
      lambdaInvocations,
      dynamoWriteUnits: sum(uses.filter((u) => u.priceId === 'dynamoWrite').map((u) => u.quantity)),
      dynamoReadUnits: sum(uses.filter((u) => u.priceId === 'dynamoRead').map((u) => u.quantity)),
      websocketPushes,
      logGigabytes: sfnLogGb + accessLogGb,
    },
    freeTier,
    ...(unitsPerReading ? { unitsPerReading } : {}),
    rates,
  };
};

export interface CostReport {
  readonly inputs: CostInputs & {
    readonly watchedFraction: number;
    readonly bufferSeconds: number;
    readonly watchedUploadReadings: number;
    readonly unwatchedUploadReadings: number;
  };
  readonly rest: Estimate;
  readonly iot: Estimate;
  /**
   * sensorbus's cost split by the two kinds of device, each kind priced as a fleet of its own:
   * the watched devices (streaming, with the dashboards) and the others (buffering). Absent when
   * every device is of one kind, or `--batch` makes them post alike.
   */
  readonly shares?: { readonly watched: FleetShare; readonly unwatched: FleetShare };
  /** The AWS default quotas sensorbus touches, against this fleet's load. */
  readonly quotas: readonly Quota[];
  /** The quota increases a deployment of this size must request. */
  readonly increases: readonly string[];
  readonly assumptions: readonly string[];
}

/** One kind of device of the fleet, priced as a fleet of its own. */
export interface FleetShare {
  readonly devices: number;
  readonly total: number;
  readonly perDevice: number;
}

/**
 * The watched devices and the others, each priced as a fleet of its own: the watched ones with
 * every dashboard (so all of them are watched), the others with none. Their sum differs a little
 * from the whole fleet's total: tiered prices and what a fleet pays once (alarms, keys, metrics).
 */
export const fleetShares = (inputs: CostInputs, a: Assumptions, prices: PriceTable): CostReport['shares'] => {
  const fraction = watchedFractionOf(inputs);
  const watchedDevices = Math.round(inputs.devices * fraction);
  if (inputs.batch !== undefined || watchedDevices <= 0 || watchedDevices >= inputs.devices) return undefined;
  const share = (fleet: CostInputs): FleetShare => {
    const { total } = estimateDesign('rest', fleet, a, prices);
    return { devices: fleet.devices, total, perDevice: total / fleet.devices };
  };
  return {
    watched: share({ ...inputs, devices: watchedDevices }),
    unwatched: share({ ...inputs, devices: inputs.devices - watchedDevices, dashboards: 0 }),
  };
};

/** Both designs for one fleet, with the assumptions stated and sensorbus's quotas checked. */
export const estimate = (inputs: CostInputs, a: Assumptions, prices: PriceTable): CostReport => {
  validateInputs(inputs);
  const rest = estimateDesign('rest', inputs, a, prices);
  const r = rest.rates;
  // The stage is sized for the fleet's average upload period, as its uploads make it.
  const fleet: FleetSize = {
    devices: inputs.devices,
    uploadSeconds: r.requestsPerSecond > 0 ? inputs.devices / r.requestsPerSecond : inputs.intervalSeconds,
  };
  const shape = uploadShapeOf(inputs);
  const quotas = fleetQuotas({
    uploadsPerSecond: r.requestsPerSecond,
    websocketMessagesPerSecond: r.websocketMessagesPerSecond,
    newWebSocketConnectionsPerSecond: inputs.dashboards / (a.connectionLifetimeMinutes * 60),
    lambdaConcurrency: r.lambdaConcurrency,
    putEventsEntriesPerSecond: r.putEventsEntriesPerSecond,
    ruleInvocationsPerSecond: r.ruleInvocationsPerSecond,
    expressStartsPerSecond: r.expressStartsPerSecond,
    snsPublishesPerSecond: r.snsPublishesPerSecond,
    tableWritesPerSecond: r.tableWritesPerSecond,
    tableReadsPerSecond: r.tableReadsPerSecond,
    silenceCheck: r.silenceCheck,
    reservedConcurrency: reservedConcurrency(fleet, functionNames) + UNRESERVED_CONCURRENCY_MINIMUM,
    stageRateLimit: stageThrottle(fleet).rateLimit,
    frontDoor: inputs.frontDoor ?? 'http',
  });
  return {
    inputs: {
      ...inputs,
      watchedFraction: shape.watchedFraction,
      bufferSeconds: inputs.bufferSeconds ?? UNWATCHED_BUFFER_SECONDS,
      watchedUploadReadings: shape.watchedUploadReadings,
      unwatchedUploadReadings: shape.unwatchedUploadReadings,
    },
    rest,
    iot: estimateDesign('iot', inputs, a, prices),
    ...withShares(fleetShares(inputs, a, prices)),
    quotas,
    increases: increasesToRequest(quotas),
    assumptions: describeAssumptions(inputs, a),
  };
};

const withShares = (shares: CostReport['shares']) => (shares ? { shares } : {});

export const validateInputs = (inputs: CostInputs): void => {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new RangeError(message);
  };
  check(Number.isFinite(inputs.devices) && inputs.devices >= 0, '--devices must be a number ≥ 0');
  check(
    Number.isFinite(inputs.intervalSeconds) && inputs.intervalSeconds > 0,
    '--interval must be a number of seconds > 0',
  );
  check(
    inputs.batch === undefined ||
      (Number.isInteger(inputs.batch) && inputs.batch >= 1 && inputs.batch <= MAX_BATCH),
    `--batch must be an integer from 1 to ${MAX_BATCH} (POST /readings takes 1..${MAX_BATCH})`,
  );
  check(
    inputs.bufferSeconds === undefined ||
      (Number.isFinite(inputs.bufferSeconds) && inputs.bufferSeconds >= 0),
    '--buffer-seconds must be a number ≥ 0',
  );
  check(
    Number.isFinite(inputs.alertsPerDevicePerDay) && inputs.alertsPerDevicePerDay >= 0,
    '--alerts-per-device-per-day must be ≥ 0',
  );
  check(Number.isFinite(inputs.dashboards) && inputs.dashboards >= 0, '--dashboards must be ≥ 0');
  check(
    inputs.devicesPerDashboard === undefined ||
      (Number.isFinite(inputs.devicesPerDashboard) && inputs.devicesPerDashboard >= 0),
    '--devices-per-dashboard must be ≥ 0',
  );
  check(Number.isFinite(inputs.months) && inputs.months >= 0, '--months must be ≥ 0');
  check(
    Number.isFinite(inputs.emailSubscribers) && inputs.emailSubscribers >= 0,
    '--email-subscribers must be ≥ 0',
  );
};

/** What the fleet's uploads carry, and why. */
const uploadsAssumption = (inputs: CostInputs): string => {
  const shape = uploadShapeOf(inputs);
  if (inputs.batch !== undefined)
    return `Uploads: every device posts ${inputs.batch} reading(s) per request (--batch).`;
  return `Uploads: the ${fmt(shape.watchedFraction * 100)}% of devices a dashboard watches are answered bufferSeconds 0 and post each reading (1 per request); the others are answered ${fmt(inputs.bufferSeconds ?? UNWATCHED_BUFFER_SECONDS)} s and post min(100, ⌈bufferSeconds / interval⌉) = ${shape.unwatchedUploadReadings} reading(s) per request.`;
};

const describeAssumptions = (inputs: CostInputs, a: Assumptions): string[] => {
  const shape = uploadShapeOf(inputs);
  const s = a.sizes;
  const ms = a.lambdaMs;
  return [
    `Month of ${a.daysPerMonth} days (${fmt(a.daysPerMonth * 86_400)} s); list prices, us-east-1, no free tier, no savings plans, no retries or duplicates.`,
    `Lambda: ${a.lambdaMemoryMb} MB arm64 for every function (${a.lambdaMemorySource}); assumed warm durations: ingest ${ms.ingestBase} + ${ms.ingestPerReading} ms/reading (+ ${ms.ingestKeyRead} ms for the device key behind the HTTP API), authorizer ${ms.deviceKeyAuthorizer} ms, DeriveMetrics ${ms.deriveMetrics} ms, EvaluateAlarms ${ms.evaluateAlarms} ms, push ${ms.pushBase} + ${ms.pushPerConnection} ms/connection, alert-notifier ${ms.alertNotifier} ms, alert-history ${ms.alertHistory} ms, announce ${ms.announce} ms, silence check ${ms.silenceCheckBase} ms + ${ms.silenceCheckPerThousandDevices} ms per 1,000 devices read (divided among the Scan's segments) + ${ms.silenceCheckCpuPerThousandDevices} ms per 1,000 devices evaluated; cold starts ignored. Measure and replace.`,
    `Enrichment: Express execution of ${a.sfnDurationMs} ms (billed in 100 ms steps), memory 50 MB + ${fmt(a.sfnDefinitionBytes / 1024)} KB definition + ${fmt(s.sfnExecutionData / 1024)} KB data → 64 MB chunks.`,
    `Sizes measured by the project's code on a sample reading of ${a.metricsPerReading} metric(s): reading ${s.readingJson} B JSON; readings item ${s.readingItem} B (${writeUnits(s.readingItem)} WRU); enrichments item ${s.enrichmentItemBase} B + ${s.enrichmentItemPerReading} B a reading of its hour; device item ${s.deviceItem} B with its rolling window of ${a.enrichmentWindow} (${readUnits(s.deviceItem, 'strong')} RRU consistent, ${writeUnits(s.deviceItem)} WRU); events of a one-reading upload ${s.readingRecordedEvent} / ${s.readingEnrichedEvent} / ${s.alertEvent} B (one 64 KB chunk each); pushes ≤ ${Math.max(s.pushReadingEnriched, s.pushReadingRecorded)} B (one 32 KB unit).`,
    uploadsAssumption(inputs),
    ...((inputs.frontDoor ?? 'http') === 'http'
      ? [
          'Front door: the HTTP API; no authorizer, the ingest function reads the device key (one strongly consistent GetItem) on every request.',
        ]
      : []),
    ...[shape.watchedUploadReadings, shape.unwatchedUploadReadings]
      .filter((k, i, all) => (inputs.frontDoor ?? 'http') === 'rest' && all.indexOf(k) === i)
      .map((k) => {
        const period = k * inputs.intervalSeconds;
        const ttl = a.routing.authorizerCacheTtlSeconds;
        return `Authorizer: API Gateway caches the device-key answer ${ttl} s per key; a device posting every ${fmt(period)} s misses once every ${Math.max(1, Math.ceil(ttl / period))} request(s) (${fmt(authorizerCacheHitRate(period, ttl) * 100)}% hits).`;
      }),
    `Alerts: ${fmt(inputs.alertsPerDevicePerDay)} threshold alert(s) raised per device per day, each resolved later (2 events, 2 alarm-state writes); ${inputs.emailSubscribers} email subscriber(s) get every alert; no device goes silent.`,
    `Dashboards: ${inputs.dashboards} connected around the clock, each following ${inputs.devicesPerDashboard === undefined ? 'every device' : `${inputs.devicesPerDashboard} device(s)`}; API Gateway closes a connection after ${a.connectionLifetimeMinutes} min and the dashboard reconnects and resubscribes. History loads over REST are not counted.`,
    `Storage after ${fmt(inputs.months)} month(s): readings are kept ${fmt(inputs.retentionDays)} days (their TTL); the telemetry archive keeps ${fmt(a.archiveRetentionMonths)} months; idempotency records live ${a.idempotencyTtlHours.push} h (push) / ${a.idempotencyTtlHours.alertNotifier} h (alerts) + ${a.ttlDeletionLagHours} h until TTL deletes them. DynamoDB GB = 2^30 B, +100 B per item.`,
    `Logs: Step Functions at level ${a.routing.workflowLogLevel} with execution data (${fmt(s.sfnLogBytesPerExecution / 1024)} KB per execution at level ALL, estimated from the real payloads); API access logs ${s.apiAccessLogLine} B per request; Lambda logs nothing in the steady state; stored at ${a.logsCompressionRatio} of ingested size.`,
    `X-Ray: active tracing everywhere; the stage's rule (TRACE_SAMPLING) samples ${a.xrayReservoirPerSecond} root/s + ${a.xraySampleRate * 100}% of the rest, and the trace header travels through PutEvents to every downstream hop.`,
    'IoT Core alternative: one MQTT message per reading (the DynamoDBv2 action stores one message as one item and the StepFunctions action starts one execution per message, so batching would need a splitter Lambda); no API Gateway, authorizer, ingest Lambda, outbox or ReadingRecorded event; everything downstream is the same. Device-side, certificate and data-transfer-in costs are not counted.',
  ];
};
