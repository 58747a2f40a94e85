import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ReadingRecorded } from '../../schemas/events.ts';
import { buildEntry } from './events.ts';
import type { ReadingItem } from './readings-store.ts';

/** The `ReadingRecorded` entry of a stored reading; the relay builds the very same event. */
export const readingRecordedEntry = (
  item: ReadingItem,
  busName: string,
  producedAt: Date,
): PutEventsRequestEntry =>
  buildEntry(ReadingRecorded, {
    busName,
    idempotencyKey: item.readingId,
    correlationId: item.correlationId,
    producedAt: producedAt.toISOString(),
    time: item.receivedAt,
    data: {
      readingId: item.readingId,
      deviceId: item.deviceId,
      timestamp: item.timestamp,
      metrics: item.metrics,
      ...(item.sequence !== undefined ? { sequence: item.sequence } : {}),
      receivedAt: item.receivedAt,
    },
  });
