import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { EventMetadata, ReadingEnriched, ReadingRecorded } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoEnrichmentWrites, enrichmentItemsOf } from '../lib/enrichments-store.ts';
import { optionalNumberEnv, requireEnv, requirePositiveNumberEnv } from '../lib/env.ts';
import { buildEntry, entriesOfRuns, PublishError, publishAll } from '../lib/events.ts';
import { readingSetIdOf } from '../lib/ids.ts';
import { asWorkflowError, WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import {
  DEFAULT_WINDOW,
  type DeriveDeps,
  derive,
  type EnrichedReading,
  type EnrichmentWindow,
} from './derive.ts';
import { fromWindowItem, toWindowItem, WINDOW_ATTRIBUTE, WindowItem } from './window-item.ts';

/** The task's payload: the event's data and metadata, and when its execution started (`$$.Execution.StartTime`). */
const Input = z.object({
  upload: ReadingRecorded.data,
  metadata: EventMetadata,
  startedAt: z.iso.datetime(),
});

/** What the task answers into the workflow's state: counts, never the enrichment (state is capped at 256 KB). */
export interface DeriveAnswer {
  readonly enriched: number;
  readonly events: number;
}

/**
 * Ports of the task: the use case's, whose enrichments are stored with the start of the execution
 * that derived them, and announcing the enriched readings.
 */
export interface DeriveHandlerDeps extends Omit<DeriveDeps, 'storeEnrichments'> {
  storeEnrichments(deviceId: string, enriched: readonly EnrichedReading[], startedAt: string): Promise<void>;
  publishEnriched(entries: ReturnType<typeof enrichedEntries>): Promise<void>;
}

/**
 * The `ReadingEnriched` v2 entries of an upload's enriched readings: one, or a few when one would
 * exceed a billed 64 KB chunk (a 100-reading upload of 50 metrics is several). Event ids derive
 * from the readings carried, so a retried execution publishes the same ids.
 */
export const enrichedEntries = (
  upload: z.infer<typeof ReadingRecorded.data>,
  enriched: readonly EnrichedReading[],
  options: { busName: string; correlationId: string; producedAt: string },
) =>
  entriesOfRuns(enriched, (run) =>
    buildEntry(ReadingEnriched, {
      busName: options.busName,
      idempotencyKey: `upload/${upload.deviceId}/${readingSetIdOf(run.map((reading) => reading.readingId))}`,
      correlationId: options.correlationId,
      producedAt: options.producedAt,
      data: {
        deviceId: upload.deviceId,
        uploadId: upload.uploadId,
        watched: upload.watched,
        readings: [...run],
      },
    }),
  );

/**
 * Task `DeriveMetrics` of the enrich-reading workflow, for one `ReadingRecorded` v2: derives every
 * reading of the upload from the device's rolling window, writes each reading's enrichment, and
 * publishes `ReadingEnriched` v2. It answers only counts: an enriched upload of 100 readings of 50
 * metrics is far beyond what a workflow's state may carry.
 */
export const makeHandler =
  (deps: DeriveHandlerDeps, busName: string) =>
  async (event: unknown): Promise<DeriveAnswer> => {
    const input = Input.safeParse(event);
    if (!input.success) throw new WorkflowError(WorkflowErrors.InvalidInput, input.error.message);
    const { upload, metadata, startedAt } = input.data;
    try {
      const enriched = await derive(upload, metadata.eventId, {
        ...deps,
        storeEnrichments: (deviceId, readings) => deps.storeEnrichments(deviceId, readings, startedAt),
      });
      const entries = enrichedEntries(upload, enriched, {
        busName,
        correlationId: metadata.correlationId,
        producedAt: new Date().toISOString(),
      });
      await deps.publishEnriched(entries);
      return { enriched: enriched.length, events: entries.length };
    } catch (error) {
      if (error instanceof PublishError) {
        throw new WorkflowError(WorkflowErrors.Transient, error.message, { cause: error });
      }
      throw asWorkflowError(error);
    }
  };

const StoredWindow = z.object({ [WINDOW_ATTRIBUTE]: z.optional(WindowItem) });

const devicesTable = requireEnv('DEVICES_TABLE');
const enrichments = dynamoEnrichmentWrites(dynamo, requireEnv('ENRICHMENTS_TABLE'));
const retentionDays = requirePositiveNumberEnv('READINGS_RETENTION_DAYS');

export const liveDeriveDeps = (): DeriveHandlerDeps => ({
  loadWindow: async (deviceId): Promise<EnrichmentWindow | undefined> => {
    const { Item } = await dynamo.send(
      new GetCommand({
        TableName: devicesTable,
        Key: { deviceId },
        ProjectionExpression: '#window',
        ExpressionAttributeNames: { '#window': WINDOW_ATTRIBUTE },
        ConsistentRead: true,
      }),
    );
    const stored = StoredWindow.parse(Item ?? {})[WINDOW_ATTRIBUTE];
    return stored && fromWindowItem(stored);
  },
  saveWindow: async (deviceId, next, expected, lastReading) => {
    try {
      await dynamo.send(
        new UpdateCommand({
          TableName: devicesTable,
          Key: { deviceId },
          UpdateExpression: lastReading ? 'SET #window = :w, lastReading = :r' : 'SET #window = :w',
          ConditionExpression:
            expected === undefined
              ? 'attribute_exists(deviceId) AND attribute_not_exists(#window)'
              : '#window.#version = :v',
          ExpressionAttributeNames: {
            '#window': WINDOW_ATTRIBUTE,
            ...(expected === undefined ? {} : { '#version': 'version' }),
          },
          ExpressionAttributeValues: {
            ':w': toWindowItem(next),
            ...(lastReading ? { ':r': lastReading } : {}),
            ...(expected === undefined ? {} : { ':v': expected }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  },
  // One write per hour the upload's readings span: a retried execution overwrites the same items.
  storeEnrichments: (deviceId, enriched, startedAt) =>
    enrichments.put(enrichmentItemsOf(deviceId, enriched, { startedAt, retentionDays })),
  publishEnriched: (entries) =>
    publishAll(
      eventBridge,
      entries.map((run) => run.entry),
    ),
  windowSize: optionalNumberEnv('ENRICHMENT_WINDOW', DEFAULT_WINDOW),
});

export const handler = makeHandler(liveDeriveDeps(), requireEnv('TELEMETRY_BUS'));
