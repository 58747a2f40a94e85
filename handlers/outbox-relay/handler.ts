import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { optionalNumberEnv, requireEnv } from '../lib/env.ts';
import { publishEntries } from '../lib/events.ts';
import { logger } from '../lib/logger.ts';
import { readingRecordedEntry } from '../lib/reading-events.ts';
import { dynamoReadings } from '../lib/readings-store.ts';
import { type RelayDeps, type RelayReport, relay } from './relay.ts';

/** Scheduled every minute (EventBridge Scheduler on AWS, a timer locally). */
export const makeHandler =
  <Entry>(deps: RelayDeps<Entry>) =>
  async (): Promise<RelayReport> => {
    const report = await relay(deps);
    if (report.republished > 0 || report.failed > 0) logger.info('Outbox relay run', { ...report });
    return report;
  };

const readings = dynamoReadings(dynamo, requireEnv('READINGS_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');

export const handler = makeHandler<PutEventsRequestEntry>({
  pendingOutbox: readings.pendingOutbox,
  claimOutbox: readings.claimOutbox,
  clearOutboxMark: readings.clearOutboxMark,
  publish: (entries) => publishEntries(eventBridge, entries),
  entryOf: (item, producedAt) => readingRecordedEntry(item, busName, producedAt),
  warn: (message, context) => logger.warn(message, context),
  now: () => new Date(),
  minAgeSeconds: optionalNumberEnv('OUTBOX_MIN_AGE_SECONDS', 30),
});
