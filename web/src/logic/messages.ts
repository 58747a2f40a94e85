/**
 * Checks what the server sends before the dashboard uses it. WebSocket frames and the reading's
 * enrichment error are checked with the shared zod schemas of `schemas/` (zod/mini, so the bundle
 * stays small); the REST bodies are read leniently, field by field, so one malformed item or field
 * is dropped rather than failing the whole chart. Nothing malformed is ever cast.
 */
import * as z from 'zod/mini';
import type { Device } from '../../../schemas/device.ts';
import { EnrichmentError } from '../../../schemas/reading.ts';
import { ServerMessage } from '../../../schemas/websocket.ts';
import type { PointEnrichment } from './series.ts';

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const optionalNumber = (value: unknown): number | undefined => (isNumber(value) ? value : undefined);
const nullableNumber = (value: unknown): number | null | undefined =>
  value === null ? null : isNumber(value) ? value : undefined;

/** A WebSocket frame from the server, or undefined when it is not one the contract describes. */
export const parseServerMessage = (text: string): ServerMessage | undefined => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = z.safeParse(ServerMessage, raw);
  return parsed.success ? parsed.data : undefined;
};

/** Metric values keyed by name, finite numbers only. */
export const parseMetrics = (value: unknown): Record<string, number> | undefined => {
  if (!isObject(value)) return undefined;
  const metrics: Record<string, number> = {};
  for (const [name, metric] of Object.entries(value)) if (isNumber(metric)) metrics[name] = metric;
  return Object.keys(metrics).length > 0 ? metrics : undefined;
};

export interface ReadingData {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
  readonly receivedAt?: string;
  /** Enrichment per metric, when the reading already carries it (history items). */
  readonly enrichment?: Record<string, PointEnrichment & { value?: number }>;
  /** Why the reading could not be enriched (history items of a reading that waits for a redrive). */
  readonly enrichmentError?: EnrichmentError;
}

const parseEnrichmentError = (value: unknown): EnrichmentError | undefined => {
  const parsed = z.safeParse(EnrichmentError, value);
  return parsed.success ? parsed.data : undefined;
};

/** The data of a `ReadingRecorded` push, or one item of a readings page. */
export const parseReading = (value: unknown): ReadingData | undefined => {
  if (!isObject(value)) return undefined;
  const metrics = parseMetrics(value.metrics);
  if (!isString(value.deviceId) || !isString(value.timestamp) || !metrics) return undefined;
  const enrichment = parseEnrichmentMap(value.enrichment);
  const enrichmentError = parseEnrichmentError(value.enrichmentError);
  return {
    deviceId: value.deviceId,
    timestamp: value.timestamp,
    metrics,
    ...(isString(value.receivedAt) ? { receivedAt: value.receivedAt } : {}),
    ...(enrichment ? { enrichment } : {}),
    ...(enrichmentError ? { enrichmentError } : {}),
  };
};

/** One metric's enrichment (`MetricEnrichment` in schemas/events.ts); only `anomaly` is required here. */
export const parseMetricEnrichment = (value: unknown): (PointEnrichment & { value?: number }) | undefined => {
  if (!isObject(value) || typeof value.anomaly !== 'boolean') return undefined;
  const enrichment: PointEnrichment & { value?: number } = {
    anomaly: value.anomaly,
    ...definedEntries({
      value: optionalNumber(value.value),
      mean: optionalNumber(value.mean),
      stddev: optionalNumber(value.stddev),
      zScore: nullableNumber(value.zScore),
      delta: nullableNumber(value.delta),
      ratePerMinute: nullableNumber(value.ratePerMinute),
      samples: optionalNumber(value.samples),
    }),
  };
  return enrichment;
};

const definedEntries = <T extends Json>(record: T): Partial<T> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Enrichment keyed by metric. Accepts `{metrics: {<metric>: …}}` (the `ReadingEnriched` data shape,
 * and how a reading stores it) or a bare `{<metric>: …}` map; unknown shapes give undefined.
 */
export const parseEnrichmentMap = (
  value: unknown,
): Record<string, PointEnrichment & { value?: number }> | undefined => {
  if (!isObject(value)) return undefined;
  const source = isObject(value.metrics) ? value.metrics : value;
  const map: Record<string, PointEnrichment & { value?: number }> = {};
  for (const [metric, entry] of Object.entries(source)) {
    const parsed = parseMetricEnrichment(entry);
    if (parsed) map[metric] = parsed;
  }
  return Object.keys(map).length > 0 ? map : undefined;
};

export interface EnrichedData {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Record<string, PointEnrichment & { value?: number }>;
}

/**
 * The readings of a `ReadingEnriched` push (v2: `{deviceId, readings: [{timestamp, metrics, ...}]}`,
 * one upload's readings oldest first), each with its enrichment; malformed readings are dropped.
 */
export const parseEnriched = (value: unknown): EnrichedData[] => {
  if (!isObject(value) || !isString(value.deviceId) || !Array.isArray(value.readings)) return [];
  const { deviceId } = value;
  return value.readings.flatMap((reading: unknown) => {
    if (!isObject(reading) || !isString(reading.timestamp)) return [];
    const metrics = parseEnrichmentMap({ metrics: reading.metrics });
    return metrics ? [{ deviceId, timestamp: reading.timestamp, metrics }] : [];
  });
};

export interface ReadingsPage {
  readonly items: ReadingData[];
  readonly nextCursor: string | null;
}

/** `GET /devices/{id}/readings`; malformed items are skipped rather than failing the chart. */
export const parseReadingsPage = (body: unknown): ReadingsPage | undefined => {
  if (!isObject(body) || !Array.isArray(body.items)) return undefined;
  const items = body.items.flatMap((item: unknown) => {
    const reading = parseReading(item);
    return reading ? [reading] : [];
  });
  return { items, nextCursor: isString(body.nextCursor) ? body.nextCursor : null };
};

/** `GET /devices`: the device records this dashboard uses. */
export const parseDevices = (body: unknown): Device[] | undefined => {
  if (!isObject(body) || !Array.isArray(body.items)) return undefined;
  return body.items.flatMap((item: unknown) => {
    const device = parseDevice(item);
    return device ? [device] : [];
  });
};

const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
const SEVERITIES = ['warning', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];
const isSeverity = (value: unknown): value is Severity => SEVERITIES.some((severity) => severity === value);

const parseDevice = (value: unknown): Device | undefined => {
  if (!isObject(value) || !isString(value.deviceId)) return undefined;
  const metrics: Device['metrics'] = {};
  if (isObject(value.metrics)) {
    for (const [name, spec] of Object.entries(value.metrics)) {
      metrics[name] = isObject(spec) && isString(spec.unit) ? { unit: spec.unit } : {};
    }
  }
  const alarmStates: Device['alarmStates'] = (Array.isArray(value.alarmStates) ? value.alarmStates : [])
    .filter(isObject)
    .flatMap((state) => {
      const name = ALARM_STATES.find((s) => s === state.state);
      if (!isString(state.metric) || !name || !isSeverity(state.severity)) return [];
      return [
        {
          metric: state.metric,
          severity: state.severity,
          state: name,
          ...definedEntries({
            above: optionalNumber(state.above),
            below: optionalNumber(state.below),
            since: isString(state.since) ? state.since : undefined,
          }),
        },
      ];
    });
  const alarms: Device['alarms'] = alarmStates.map(({ metric, severity, above, below }) => ({
    metric,
    severity,
    ...definedEntries({ above, below }),
  }));
  const last = isObject(value.lastReading) ? value.lastReading : undefined;
  const lastMetrics = parseMetrics(last?.metrics);
  const location = isString(value.location)
    ? value.location
    : isObject(value.location) && isNumber(value.location.latitude) && isNumber(value.location.longitude)
      ? {
          latitude: value.location.latitude,
          longitude: value.location.longitude,
          ...(isString(value.location.label) ? { label: value.location.label } : {}),
        }
      : undefined;
  return {
    deviceId: value.deviceId,
    ...(isString(value.name) ? { name: value.name } : {}),
    ...(location !== undefined ? { location } : {}),
    metrics,
    alarms,
    ...(isNumber(value.expectedIntervalSeconds)
      ? { expectedIntervalSeconds: value.expectedIntervalSeconds }
      : {}),
    createdAt: isString(value.createdAt) ? value.createdAt : '',
    updatedAt: isString(value.updatedAt) ? value.updatedAt : '',
    ...(last && isString(last.timestamp) && isString(last.receivedAt) && lastMetrics
      ? { lastReading: { timestamp: last.timestamp, receivedAt: last.receivedAt, metrics: lastMetrics } }
      : {}),
    alarmStates,
  };
};

/** A device's location as one line of text. */
export const locationText = (location: Device['location']): string | undefined => {
  if (location === undefined) return undefined;
  if (typeof location === 'string') return location;
  return location.label ?? `${location.latitude.toFixed(4)}, ${location.longitude.toFixed(4)}`;
};

export interface DashboardConfig {
  readonly apiUrl: string;
  readonly wsUrl: string;
}

/** `/config.json`, written next to the app by the local web server or to S3 on AWS. */
export const parseConfig = (body: unknown): DashboardConfig | undefined => {
  if (!isObject(body) || !isString(body.apiUrl) || !isString(body.wsUrl)) return undefined;
  const trim = (url: string) => url.replace(/\/+$/, '');
  return { apiUrl: trim(body.apiUrl), wsUrl: trim(body.wsUrl) };
};

export { isNumber, isSeverity, isString };
