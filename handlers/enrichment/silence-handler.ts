import { randomUUID } from 'node:crypto';
import { AlertRaised, AlertResolved } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishEntries } from '../lib/events.ts';
import { logger } from '../lib/logger.ts';
import { alertEntry } from './alert-events.ts';
import { SILENCE_STATE_KEY } from './alert-state.ts';
import { evaluateSilence } from './silence.ts';

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');

/**
 * Scheduled every minute: raises `AlertRaised` (kind `silence`) for each device silent for three
 * times its expected interval, and `AlertResolved` once it reports again. Events go out before
 * the state is saved, so a crash in between re-sends the same event ids rather than losing them.
 */
export const handler = async (): Promise<{ raised: number; resolved: number }> => {
  const now = new Date();
  const all = await devices.list();
  const evaluation = evaluateSilence(
    all.map((device) => ({
      deviceId: device.deviceId,
      createdAt: device.createdAt,
      ...(device.expectedIntervalSeconds !== undefined
        ? { expectedIntervalSeconds: device.expectedIntervalSeconds }
        : {}),
      ...(device.lastReading ? { lastReading: device.lastReading } : {}),
      ...(device.alarmStates[SILENCE_STATE_KEY] ? { silence: device.alarmStates[SILENCE_STATE_KEY] } : {}),
    })),
    now,
  );
  const correlationId = `silence-check-${randomUUID()}`;
  const entries = evaluation.alerts.map((alert) =>
    alertEntry(alert, busName, correlationId, now.toISOString()),
  );
  const published = await publishEntries(eventBridge, entries);
  const failedDevices = new Set(published.failed.map(({ index }) => evaluation.alerts[index]?.data.deviceId));
  for (const [deviceId, next] of Object.entries(evaluation.states)) {
    if (failedDevices.has(deviceId)) continue;
    const previous = all.find((device) => device.deviceId === deviceId)?.alarmStates[SILENCE_STATE_KEY];
    const saved = await devices.updateAlertStates(deviceId, [{ key: SILENCE_STATE_KEY, next, previous }]);
    if (!saved) logger.warn('Silence state changed meanwhile; the next check re-evaluates', { deviceId });
  }
  if (published.failed.length > 0)
    logger.warn('Some silence alerts were not published; the next check retries', {
      failed: published.failed,
    });
  const sent = evaluation.alerts.filter((_, i) => !published.failed.some((f) => f.index === i));
  return {
    raised: sent.filter((a) => a.detailType === AlertRaised.detailType).length,
    resolved: sent.filter((a) => a.detailType === AlertResolved.detailType).length,
  };
};
