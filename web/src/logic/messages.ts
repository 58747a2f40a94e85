/**
 * Checks what the server sends before the dashboard uses it, with the shared zod schemas of
 * `schemas/` (zod/mini, so the bundle stays small): the same the API answers with and the JSON
 * Schemas are generated from. The dashboard reads them non-strictly (unknown fields a later API
 * adds are ignored) and checks a list's items one by one, so a malformed item is dropped while the
 * valid ones still show. Nothing malformed is ever cast.
 */
import * as z from 'zod/mini';
import { MetricName } from '../../../schemas/common.ts';
import { AlarmState, Device, LastReading } from '../../../schemas/device.ts';
import { EnrichedReading, MetricEnrichment, ReadingEnriched } from '../../../schemas/events.ts';
import { EnrichmentError, ReadingsPage, StoredReading } from '../../../schemas/reading.ts';
import { ServerMessage } from '../../../schemas/websocket.ts';
import type { PointEnrichment } from './series.ts';

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

const warned = new Set<string>();

/**
 * The items of a list that match `item`, in order; the others are dropped, with one warning per
 * kind of list for the page's lifetime (a malformed item repeats on every reload and push).
 */
export const validItems = <T>(items: readonly unknown[], item: z.ZodMiniType<T>, what: string): T[] => {
  const valid: T[] = [];
  for (const value of items) {
    const parsed = z.safeParse(item, value);
    if (parsed.success) valid.push(parsed.data);
    else if (!warned.has(what)) {
      warned.add(what);
      console.warn(`Dropped a malformed ${what}`, parsed.error.issues);
    }
  }
  return valid;
};

/** The envelope of a page, its items left to {@link validItems}. */
export const PageEnvelope = z.object({
  items: z.array(z.unknown()),
  nextCursor: ReadingsPage.shape.nextCursor,
});

/** Enrichment keyed by metric, as `ReadingEnriched` carries it and a stored reading serves it. */
const EnrichmentByMetric = z.record(MetricName, z.object(MetricEnrichment.shape));

/**
 * One item of a readings page. An enrichment or enrichment error the dashboard cannot read is
 * left out rather than the reading: the point still shows, without its anomaly mark.
 */
const ReadingItem = z.object({
  ...StoredReading.shape,
  enrichment: z.catch(z.optional(z.object({ metrics: EnrichmentByMetric })), undefined),
  enrichmentError: z.catch(z.optional(z.object(EnrichmentError.shape)), undefined),
});

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

/** `GET /devices/{id}/readings`; malformed items are dropped rather than failing the chart. */
export const parseReadingsPage = (
  body: unknown,
): { items: ReadingData[]; nextCursor: string | null } | undefined => {
  const page = z.safeParse(PageEnvelope, body);
  if (!page.success) return undefined;
  const items = validItems(page.data.items, ReadingItem, 'reading').map(
    ({ deviceId, timestamp, metrics, receivedAt, enrichment, enrichmentError }): ReadingData => ({
      deviceId,
      timestamp,
      metrics,
      receivedAt,
      ...(enrichment ? { enrichment: enrichment.metrics } : {}),
      ...(enrichmentError ? { enrichmentError } : {}),
    }),
  );
  return { items, nextCursor: page.data.nextCursor };
};

export interface EnrichedData {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Record<string, PointEnrichment & { value?: number }>;
}

const EnrichedEnvelope = z.object({
  deviceId: ReadingEnriched.data.shape.deviceId,
  readings: z.array(z.unknown()),
});
const EnrichedItem = z.object({ ...EnrichedReading.shape, metrics: EnrichmentByMetric });

/**
 * The readings of a `ReadingEnriched` push (v2: `{deviceId, readings: [{timestamp, metrics, ...}]}`,
 * one upload's readings oldest first), each with its enrichment; malformed readings are dropped.
 */
export const parseEnriched = (value: unknown): EnrichedData[] => {
  const envelope = z.safeParse(EnrichedEnvelope, value);
  if (!envelope.success) return [];
  const { deviceId, readings } = envelope.data;
  return validItems(readings, EnrichedItem, 'enriched reading').map(({ timestamp, metrics }) => ({
    deviceId,
    timestamp,
    metrics,
  }));
};

/** A device as `GET /devices` lists it, its alarm states and last reading read non-strictly too. */
const DeviceItem = z.object({
  ...Device.shape,
  alarmStates: z.array(z.object(AlarmState.shape)),
  lastReading: z.optional(z.object(LastReading.shape)),
});
const DevicesBody = z.object({ items: z.array(z.unknown()) });

/** `GET /devices`: the devices the token may see; a malformed one is dropped, the others still show. */
export const parseDevices = (body: unknown): Device[] | undefined => {
  const parsed = z.safeParse(DevicesBody, body);
  return parsed.success ? validItems(parsed.data.items, DeviceItem, 'device') : undefined;
};

/** A device's location as one line of text. */
export const locationText = (location: Device['location']): string | undefined => {
  if (location === undefined) return undefined;
  if (typeof location === 'string') return location;
  return location.label ?? `${location.latitude.toFixed(4)}, ${location.longitude.toFixed(4)}`;
};

/** `/config.json`, written next to the app by the local web server or to S3 on AWS. */
const DashboardConfig = z.object({ apiUrl: z.string(), wsUrl: z.string() });
export type DashboardConfig = z.infer<typeof DashboardConfig>;

/** The dashboard's config, its URLs without trailing slashes; undefined when it is not one. */
export const parseConfig = (body: unknown): DashboardConfig | undefined => {
  const parsed = z.safeParse(DashboardConfig, body);
  if (!parsed.success) return undefined;
  const trim = (url: string) => url.replace(/\/+$/, '');
  return { apiUrl: trim(parsed.data.apiUrl), wsUrl: trim(parsed.data.wsUrl) };
};
