import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { optionalNumberEnv, requireEnv } from '../lib/env.ts';
import { logger } from '../lib/logger.ts';
import { publishReadingsRecorded } from '../lib/reading-events.ts';
import { dynamoReadings } from '../lib/readings-store.ts';
import { type RelayDeps, type RelayReport, relay } from './relay.ts';

/** Scheduled every minute (EventBridge Scheduler on AWS, a timer locally). */
export const makeHandler = (deps: RelayDeps) => async (): Promise<RelayReport> => {
  const report = await relay(deps);
  if (report.republished > 0 || report.failed > 0) logger.info('Outbox relay run', { ...report });
  return report;
};

const readings = dynamoReadings(dynamo, requireEnv('READINGS_TABLE'));
const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');

/** Whether a dashboard may be watching the device now; when that cannot be told, yes (see the ingest). */
const watchedNow = async (deviceId: string): Promise<boolean> => {
  try {
    const until = await devices.watchedUntil(deviceId);
    return until !== undefined && Date.parse(until) > Date.now();
  } catch {
    return true;
  }
};

export const handler = makeHandler({
  pendingOutbox: readings.pendingOutbox,
  claimOutbox: readings.claimOutbox,
  clearOutboxMark: readings.clearOutboxMark,
  announce: async (items) => {
    const deviceId = items[0]?.deviceId;
    const watched = deviceId === undefined ? false : await watchedNow(deviceId);
    return publishReadingsRecorded(eventBridge, items, { busName, watched });
  },
  warn: (message, context) => logger.warn(message, context),
  now: () => new Date(),
  minAgeSeconds: optionalNumberEnv('OUTBOX_MIN_AGE_SECONDS', 30),
});
