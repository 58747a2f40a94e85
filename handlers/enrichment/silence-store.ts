import { type DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import { CONNECTION_LIFETIME_SECONDS } from '../lib/connections-store.ts';
import { AlertState } from '../lib/devices-store.ts';
import { watchedAt } from '../lib/watching.ts';
import { SILENCE_STATE_KEY } from './alert-state.ts';
import type { SilenceCandidate } from './silence.ts';

/** What the scan reads of a device: only what {@link SilenceCandidate} needs, never the whole item. */
const CandidateItem = /* @__PURE__ */ z.object({
  deviceId: /* @__PURE__ */ z.string(),
  expectedIntervalSeconds: /* @__PURE__ */ z.number(),
  createdAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  lastReading: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.object({
      timestamp: /* @__PURE__ */ z.string(),
      receivedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
    }),
  ),
  watchedUntil: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  alarmStates: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), AlertState)),
});

/**
 * How long after a subscribe marked a device watched an upload is still taken as possibly told to
 * buffer: the ingest reads the mark eventually consistent, so an upload in the moment after it may
 * not have seen it.
 */
export const WATCH_MARK_SETTLE_SECONDS = 60;

/**
 * Whether the device was told to stream at its last upload: the upload came under the watch the
 * device is marked with now, which a subscribe set `CONNECTION_LIFETIME_SECONDS` ahead of when it
 * marked it. An upload before that mark is not known to have been watched (an earlier mark may
 * have covered it, or none), and is taken as buffered: the check then waits longer, never raises early.
 */
export const streamedAtLastUpload = (
  receivedAt: string | undefined,
  watchedUntil: string | undefined,
): boolean => {
  if (receivedAt === undefined || watchedUntil === undefined) return false;
  const received = new Date(receivedAt);
  const marked = Date.parse(watchedUntil) - CONNECTION_LIFETIME_SECONDS * 1000;
  return received.getTime() >= marked + WATCH_MARK_SETTLE_SECONDS * 1000 && watchedAt(watchedUntil, received);
};

/**
 * A device as the check evaluates it. One that reported was told at its last upload either to
 * stream or that it may buffer. Streamed (a dashboard watched it then, see
 * {@link streamedAtLastUpload}): its next reading is due an interval later, so a watched device
 * that stops is found silent within three intervals. Otherwise it is given the longest buffer the
 * ingest answers ({@link UNWATCHED_BUFFER_SECONDS}), so one merely buffering is never raised.
 */
const candidateOf = (item: Record<string, unknown>): SilenceCandidate => {
  const { lastReading, alarmStates, createdAt, watchedUntil, ...device } = CandidateItem.parse(item);
  const silence = alarmStates?.[SILENCE_STATE_KEY];
  const buffered = lastReading && !streamedAtLastUpload(lastReading.receivedAt, watchedUntil);
  return {
    ...device,
    ...(createdAt !== undefined ? { createdAt } : {}),
    ...(lastReading
      ? {
          lastReading: { timestamp: lastReading.timestamp },
          bufferSeconds: buffered ? UNWATCHED_BUFFER_SECONDS : 0,
        }
      : {}),
    ...(silence ? { silence } : {}),
  };
};

export interface SilenceScanOptions {
  /**
   * Segments of the parallel scan, each read page after page while the others are read at the
   * same time (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan).
   */
  readonly segments: number;
  /** Items each page reads at most (before the filter); DynamoDB's 1 MB page when absent. */
  readonly pageSize?: number;
}

/** Hands one page of candidates to the check; the next page of that segment is read once it resolves. */
export type OnCandidatePage = (page: readonly SilenceCandidate[]) => Promise<void>;

/**
 * The devices the silence check evaluates, read by a parallel Scan of the devices table: those
 * with an `expectedIntervalSeconds` that are not deleted, projected to the attributes the check
 * reads. A Scan is billed by the size of the items it reads, filtered or not (0.5 RRU per
 * 4 KB, eventually consistent), so a run costs about the table's size, the same as a sequential
 * Scan; what the segments buy is time: at 1M devices of ~0.6 KB, ~600 pages of 1 MB, which one
 * sequential Scan reads in minutes and 40 segments in seconds.
 *
 * Resolves once every segment is read; rejects with the first failure after the other segments
 * have stopped, so a run never ends while pages are still being handled.
 */
export const dynamoSilenceCandidates =
  (client: DynamoDBDocumentClient, tableName: string, options: SilenceScanOptions) =>
  async (onPage: OnCandidatePage): Promise<void> => {
    const segments = Math.max(1, Math.floor(options.segments));
    const readSegment = async (segment: number): Promise<void> => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const result: ScanCommandOutput = await client.send(
          new ScanCommand({
            TableName: tableName,
            ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
            ...(options.pageSize !== undefined ? { Limit: options.pageSize } : {}),
            ProjectionExpression:
              'deviceId, expectedIntervalSeconds, createdAt, lastReading.#timestamp, lastReading.receivedAt, watchedUntil, alarmStates.#silence',
            FilterExpression: 'attribute_exists(expectedIntervalSeconds) AND attribute_not_exists(deletedAt)',
            ExpressionAttributeNames: { '#timestamp': 'timestamp', '#silence': SILENCE_STATE_KEY },
            ExclusiveStartKey: startKey,
          }),
        );
        const page = (result.Items ?? []).map(candidateOf);
        if (page.length > 0) await onPage(page);
        startKey = result.LastEvaluatedKey;
      } while (startKey);
    };
    const outcomes = await Promise.allSettled(
      Array.from({ length: segments }, (_, segment) => readSegment(segment)),
    );
    const failure = outcomes.find(
      (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
    );
    if (failure) throw failure.reason;
  };
