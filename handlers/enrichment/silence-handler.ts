import { randomUUID } from 'node:crypto';
import { dynamoAlertMarks } from '../alerts/records.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridgeAtFirstUse } from '../lib/clients/eventbridge-at-first-use.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { optionalNumberEnv, requireEnv } from '../lib/env.ts';
import { publishEntries } from '../lib/events.ts';
import { logger } from '../lib/logger.ts';
import { alertEntry } from './alert-events.ts';
import { checkSilence, type SilenceCheckDeps } from './silence-check.ts';
import { dynamoSilenceCandidates } from './silence-store.ts';

/** Scheduled every minute: the silence check, as of the moment it runs. */
export const makeHandler =
  (deps: SilenceCheckDeps) => async (): Promise<{ raised: number; resolved: number }> =>
    checkSilence(new Date(), deps);

const devicesTable = requireEnv('DEVICES_TABLE');
const devices = dynamoDeviceFields(dynamo, devicesTable);
const alerts = dynamoAlertMarks(dynamo, requireEnv('ALERTS_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');
/** Sized for the deployment's fleet by `infra/fleet.ts` (`silenceScanSegments`); one for a small one. */
const segments = optionalNumberEnv('SILENCE_SCAN_SEGMENTS', 1);

export const liveSilenceCheckDeps = (): SilenceCheckDeps => ({
  scanDevices: dynamoSilenceCandidates(dynamo, devicesTable, { segments }),
  publishAlerts: (alerts, producedAt) => {
    const correlationId = `silence-check-${randomUUID()}`;
    return publishEntries(
      eventBridgeAtFirstUse(),
      alerts.map((alert) => alertEntry(alert, busName, correlationId, producedAt.toISOString())),
    );
  },
  saveAlertStates: (deviceId, updates) => devices.updateAlertStates(deviceId, updates),
  claimResolution: (alertId) => alerts.claimForDevice(alertId),
  warn: (message, context) => logger().warn(message, context),
});

export const handler = makeHandler(liveSilenceCheckDeps());
