import { SILENCE_FACTOR } from '../handlers/enrichment/silence.ts';
import { type FunctionLimits, functionLimits, STAGE_THROTTLE } from './api.ts';
import type { FunctionName } from './functions.ts';
import { type ScheduleSpec, schedules } from './topology.ts';

/**
 * The fleet a deployment is sized for, declared once: the CDK app reads it from the context
 * (`-c fleetDevices=1000000 -c fleetUploadSeconds=300`), the stage throttles follow it, and the cost
 * model's quota report sizes the same throttles for the fleet it is asked about.
 */

export interface FleetSize {
  /** Devices posting. */
  readonly devices: number;
  /** Seconds between two uploads of one device. */
  readonly uploadSeconds: number;
}

/** What a stage is sized for when the context names no fleet. */
export const DEFAULT_FLEET: FleetSize = { devices: 1_000, uploadSeconds: 60 };

/**
 * Headroom of a throttle over the average rate: devices are not evenly spread over their interval
 * (they start together after an outage, their clocks drift into step).
 */
export const THROTTLE_HEADROOM = 3;

/**
 * The smallest stage throttle, the one `infra/api.ts` declares for the stages (and the local
 * gateways apply): a dashboard and a handful of devices must never be throttled.
 */
export const MIN_STAGE_THROTTLE = STAGE_THROTTLE.rest;

const positive = (value: unknown, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value.replaceAll('_', '')) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
    throw new Error(`Context "${name}" must be a number > 0; got ${String(value)}`);
  return n;
};

/** Validates the fleet context values (`fleetDevices`, `fleetUploadSeconds`). */
export const fleetSize = (devices: unknown, uploadSeconds: unknown): FleetSize => ({
  devices: positive(devices, 'fleetDevices', DEFAULT_FLEET.devices),
  uploadSeconds: positive(uploadSeconds, 'fleetUploadSeconds', DEFAULT_FLEET.uploadSeconds),
});

/** Average uploads per second of a fleet. */
export const uploadsPerSecond = (fleet: FleetSize): number => fleet.devices / fleet.uploadSeconds;

/**
 * The throttle of the devices' HTTP API stage and of the REST stage for a fleet: the headroom
 * over its average upload rate, never below the minimum; the burst is twice the rate
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
 */
export const stageThrottle = (fleet: FleetSize): { rateLimit: number; burstLimit: number } => {
  const rateLimit = Math.max(
    MIN_STAGE_THROTTLE.rateLimit,
    Math.ceil(uploadsPerSecond(fleet) * THROTTLE_HEADROOM),
  );
  return { rateLimit, burstLimit: Math.max(MIN_STAGE_THROTTLE.burstLimit, 2 * rateLimit) };
};

/**
 * Devices one segment of the silence check's parallel Scan reads per run: at ~0.6 KB a device,
 * ~15 pages of 1 MB, read one after another in a second or two
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan).
 */
export const DEVICES_PER_SCAN_SEGMENT = 25_000;

/** Segments one run reads at once: enough for 3M devices; the SDK pools 50 sockets per client. */
export const MAX_SCAN_SEGMENTS = 128;

/**
 * The segments of the silence check's Scan for a fleet: one per {@link DEVICES_PER_SCAN_SEGMENT}
 * devices, so a run reads the whole table in about the time one segment takes (40 at 1M devices,
 * one for a small fleet). The run costs the same RRU however many segments read it.
 */
export const silenceScanSegments = (devices: number): number =>
  Math.min(MAX_SCAN_SEGMENTS, Math.max(1, Math.ceil(devices / DEVICES_PER_SCAN_SEGMENT)));

/**
 * Runs of the silence check within the shortest silence it raises: that of a device streaming at
 * the fleet's interval, silent for {@link SILENCE_FACTOR} intervals (a buffering device's is an
 * hour longer). A silence is then raised at most a tenth of its length late.
 */
export const SILENCE_CHECKS_PER_SILENCE = 10;

/**
 * Minutes between two runs of the silence check for a fleet: a tenth of the shortest silence, in
 * whole minutes, at least one (EventBridge Scheduler's rate is in whole minutes). Every minute up
 * to a 3-minute interval, every 3 at 10 minutes, every 4 at 15: each run Scans the whole devices
 * table (about 71,000 RRU at 1M devices), so a run every minute for silences of 45 minutes bought
 * nothing but reads.
 */
export const silenceCheckMinutes = (fleet: FleetSize): number =>
  Math.max(1, Math.floor((SILENCE_FACTOR * fleet.uploadSeconds) / 60 / SILENCE_CHECKS_PER_SILENCE));

/** The schedules of `infra/topology.ts` as a stage sized for the fleet runs them. */
export const fleetSchedules = (fleet: FleetSize): Record<keyof typeof schedules, ScheduleSpec> => ({
  ...schedules,
  silenceCheck: { ...schedules.silenceCheck, everyMinutes: silenceCheckMinutes(fleet) },
});

/** The environment variable through which the silence check learns its segments (`handlers/enrichment/silence-handler.ts`). */
export const SILENCE_SCAN_SEGMENTS_ENV = 'SILENCE_SCAN_SEGMENTS';

/** Settings a function's environment carries for the fleet its stage is sized for. */
export const fleetSettings = (name: string, fleet: FleetSize): Record<string, string> =>
  name === 'silenceCheck' ? { [SILENCE_SCAN_SEGMENTS_ENV]: String(silenceScanSegments(fleet.devices)) } : {};

/**
 * Warm duration assumed for one push invocation (ms): a Query of the device's connections and a
 * post to each; the cost model's `pushBase` plus a few connections.
 */
export const PUSH_MS = 40;

/**
 * Reserved concurrency of the push for a fleet: its cap (a flood of events is pushed at most this
 * many at a time, the rest throttled and retried by EventBridge, so it never takes the account's
 * pool from the API's functions) grows with the fleet's uploads, at most one push per upload, with
 * the throttle's headroom; never below the floor `infra/api.ts` declares for a small fleet.
 */
export const pushConcurrency = (fleet: FleetSize): number =>
  Math.max(
    functionLimits('push').reservedConcurrency ?? 0,
    Math.ceil((uploadsPerSecond(fleet) * THROTTLE_HEADROOM * PUSH_MS) / 1000),
  );

/** Devices from which the silence check gets a whole vCPU: parsing a million devices on 512 MB's share of one takes ~20 s. */
export const SILENCE_CHECK_VCPU_DEVICES = 250_000;

/** Memory (MB) at which Lambda gives a function one whole vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). */
export const ONE_VCPU_MB = 1_769;

/**
 * A function's limits for the fleet its stage is sized for: `functionLimits` of `infra/api.ts`
 * (what the local cloud runs, the default fleet's), with the push's cap and the silence check's
 * memory grown with the fleet.
 */
export const fleetLimits = (name: FunctionName, fleet: FleetSize): FunctionLimits => {
  const limits = functionLimits(name);
  if (name === 'push') return { ...limits, reservedConcurrency: pushConcurrency(fleet) };
  if (name === 'silenceCheck' && fleet.devices >= SILENCE_CHECK_VCPU_DEVICES)
    return { ...limits, memoryMb: Math.max(limits.memoryMb, ONE_VCPU_MB) };
  return limits;
};

/** Lambda keeps this much of the account's concurrency unreserved (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;

/** The concurrency a stage sized for the fleet reserves, summed over its functions. */
export const reservedConcurrency = (fleet: FleetSize, names: readonly FunctionName[]): number =>
  names.reduce((sum, name) => sum + (fleetLimits(name, fleet).reservedConcurrency ?? 0), 0);
