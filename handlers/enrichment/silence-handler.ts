import { randomUUID } from 'node:crypto';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishEntries } from '../lib/events.ts';
import { logger } from '../lib/logger.ts';
import { alertEntry } from './alert-events.ts';
import { checkSilence, type SilenceCheckDeps } from './silence-check.ts';

/** Scheduled every minute: the silence check, as of the moment it runs. */
export const makeHandler =
  (deps: SilenceCheckDeps) => async (): Promise<{ raised: number; resolved: number }> =>
    checkSilence(new Date(), deps);

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');

export const liveSilenceCheckDeps = (): SilenceCheckDeps => ({
  devices: () => devices.list(),
  publishAlerts: (alerts, producedAt) => {
    const correlationId = `silence-check-${randomUUID()}`;
    return publishEntries(
      eventBridge,
      alerts.map((alert) => alertEntry(alert, busName, correlationId, producedAt.toISOString())),
    );
  },
  saveAlertStates: (deviceId, updates) => devices.updateAlertStates(deviceId, updates),
  warn: (message, context) => logger.warn(message, context),
});

export const handler = makeHandler(liveSilenceCheckDeps());
