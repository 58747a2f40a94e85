import * as z from 'zod';
import { DeviceId, MetricName, Metrics, Severity, Timestamp } from './common.ts';

/**
 * Envelope every domain event carries in `detail.metadata`. `eventId` is deterministic so that a
 * re-published event (outbox relay, replay) is recognisable; `idempotencyKey` names the business
 * fact (one reading, one alert transition) so consumers can dedupe across events about it.
 */
export const EventMetadata = z
  .object({
    eventId: z.uuid(),
    idempotencyKey: z.string().min(1),
    correlationId: z.string().min(1),
    schemaVersion: z.number().int().positive(),
    producedAt: Timestamp,
  })
  .strict();
export type EventMetadata = z.infer<typeof EventMetadata>;

export const SOURCES = { ingest: 'sensorbus.ingest', enrichment: 'sensorbus.enrichment' } as const;

export interface EventContract<TDetailType extends string, TData extends z.ZodType> {
  readonly source: string;
  readonly detailType: TDetailType;
  readonly version: number;
  readonly data: TData;
  readonly detail: z.ZodObject<{ metadata: typeof EventMetadata; data: TData }>;
  /** The EventBridge pattern that selects exactly this event. */
  readonly pattern: { source: string[]; 'detail-type': string[] };
}

/** Declares a domain event once; producers, consumers, rules and fixtures all derive from it. */
export const defineEvent = <const TDetailType extends string, TData extends z.ZodType>(spec: {
  source: string;
  detailType: TDetailType;
  version: number;
  data: TData;
}): EventContract<TDetailType, TData> => ({
  ...spec,
  detail: z.object({ metadata: EventMetadata, data: spec.data }).strict(),
  pattern: { source: [spec.source], 'detail-type': [spec.detailType] },
});

export const ReadingRecorded = defineEvent({
  source: SOURCES.ingest,
  detailType: 'ReadingRecorded',
  version: 1,
  data: z
    .object({
      readingId: z.string(),
      deviceId: DeviceId,
      timestamp: Timestamp,
      metrics: Metrics,
      sequence: z.number().int().optional(),
      receivedAt: Timestamp,
    })
    .strict(),
});

/** Derived values of one metric against the readings that precede it in time. */
export const MetricEnrichment = z
  .object({
    value: z.number(),
    delta: z.number().nullable(),
    ratePerMinute: z.number().nullable(),
    mean: z.number(),
    stddev: z.number(),
    zScore: z.number().nullable(),
    anomaly: z.boolean(),
    samples: z.number().int(),
  })
  .strict();

export const ReadingEnriched = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'ReadingEnriched',
  version: 1,
  data: z
    .object({
      readingId: z.string(),
      deviceId: DeviceId,
      timestamp: Timestamp,
      gapSeconds: z.number().nullable(),
      metrics: z.record(MetricName, MetricEnrichment),
    })
    .strict(),
});

const AlertBase = {
  alertId: z.string(),
  /** One line a person can read, e.g. "temperature 31.2 °C is above 30". */
  summary: z.string().max(500),
  deviceId: DeviceId,
  severity: Severity,
  time: Timestamp,
};

/** An alert's data: a threshold breach on one metric, or a device gone silent. */
export const AlertData = z.discriminatedUnion('kind', [
  z
    .object({
      ...AlertBase,
      kind: z.literal('threshold'),
      metric: MetricName,
      value: z.number(),
      above: z.number().optional(),
      below: z.number().optional(),
      readingTimestamp: Timestamp,
    })
    .strict(),
  z
    .object({
      ...AlertBase,
      kind: z.literal('silence'),
      expectedIntervalSeconds: z.number().int(),
      lastSeen: Timestamp.nullable(),
    })
    .strict(),
]);
export type AlertData = z.infer<typeof AlertData>;

export const AlertRaised = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertRaised',
  version: 1,
  data: AlertData,
});

export const AlertResolved = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertResolved',
  version: 1,
  data: AlertData,
});

/** Every domain event, keyed by detail-type. */
export const EVENTS = { ReadingRecorded, ReadingEnriched, AlertRaised, AlertResolved } as const;
export type EventName = keyof typeof EVENTS;

export type ReadingRecordedData = z.infer<typeof ReadingRecorded.data>;
