import { mapWithLimit } from '../lib/concurrency.ts';
import { newReadingsOf } from '../lib/readings-stream.ts';
import { bucketStartMs, STORED_SIZES } from '../lib/rollups.ts';
import { type BucketContribution, paddedSequence, type RollupsStore } from '../lib/rollups-store.ts';
import { StreamBatch, type StreamRecordLike } from '../lib/stream-batch.ts';

export { StreamBatch, type StreamRecordLike };

export interface RollupDeps {
  readonly rollups: Pick<RollupsStore, 'apply'>;
  /** Days a rollup is kept after its bucket starts. */
  readonly retentionDays: number;
  /** Told of a bucket that could not be updated, before the batch answers its failure. */
  onFailure?(contribution: BucketContribution, error: unknown): void;
}

/** Buckets updated at once: a batch of many devices should not open a connection per bucket. */
const CONCURRENT_BUCKETS = 16;

/**
 * The readings a batch stored ({@link newReadingsOf}), grouped by device, stored size and bucket.
 * A repeated POST writes nothing (so makes no record), and REMOVEs are the readings' TTL expiry,
 * which must not shrink the rollups that outlive them.
 */
export const contributionsOf = (records: readonly StreamRecordLike[]): BucketContribution[] => {
  const byBucket = new Map<
    string,
    BucketContribution & { readings: BucketContribution['readings'][number][] }
  >();
  for (const { reading, sequenceNumber } of newReadingsOf(records, () => {})) {
    if (!sequenceNumber) continue;
    const { deviceId, timestamp, metrics } = reading;
    const sequence = paddedSequence(sequenceNumber);
    for (const size of STORED_SIZES) {
      const start = new Date(bucketStartMs(Date.parse(timestamp), size)).toISOString();
      const key = `${deviceId}\n${size}\n${start}`;
      const existing = byBucket.get(key);
      if (existing) existing.readings.push({ timestamp, metrics, sequence });
      else byBucket.set(key, { deviceId, size, start, readings: [{ timestamp, metrics, sequence }] });
    }
  }
  return [...byBucket.values()];
};

/**
 * Applies a stream batch to the rollups: one write per bucket touched, not per reading. When a
 * bucket fails, the batch answers the earliest record of the failed buckets as its item failure,
 * so Lambda retries from there; the buckets already written skip what they hold.
 */
export const applyBatch = async (
  records: readonly StreamRecordLike[],
  deps: RollupDeps,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> => {
  const failedFrom: string[] = [];
  await mapWithLimit(contributionsOf(records), CONCURRENT_BUCKETS, async (contribution) => {
    try {
      await deps.rollups.apply(contribution, deps.retentionDays);
    } catch (error) {
      deps.onFailure?.(contribution, error);
      for (const reading of contribution.readings) failedFrom.push(reading.sequence);
    }
  });
  const earliest = failedFrom.sort().at(0);
  if (earliest === undefined) return { batchItemFailures: [] };
  const record = records.find(
    (candidate) =>
      candidate.dynamodb?.SequenceNumber !== undefined &&
      paddedSequence(candidate.dynamodb.SequenceNumber) === earliest,
  );
  return { batchItemFailures: [{ itemIdentifier: record?.dynamodb?.SequenceNumber ?? earliest }] };
};
