import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishAll } from '../lib/events.ts';
import { logger } from '../lib/logger.ts';
import { type AnnounceDeps, type AnnounceReport, announceStreamBatch } from './announce.ts';

/**
 * The readings table's stream consumer that is the outbox's relay: every reading stored reaches
 * the bus, because the stream holds it until this function has announced it
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). It throws when the bus refused
 * an event, and the event source mapping retries the batch until the bus takes it.
 */
export const makeHandler =
  (deps: AnnounceDeps) =>
  async (event: unknown): Promise<AnnounceReport> =>
    announceStreamBatch(event, deps);

const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  busName: requireEnv('TELEMETRY_BUS'),
  publishAll: (entries) => publishAll(eventBridge, entries),
  watchedUntil: devices.watchedUntil,
  warn: (message, context) => logger().warn(message, context),
  now: () => new Date(),
});
