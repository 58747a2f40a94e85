import { AlertRaised, AlertResolved } from '../../schemas/events.ts';
import type { AlertState, DeviceItem } from '../lib/devices-store.ts';
import type { PublishOutcome } from '../lib/events.ts';
import { type AlertTransition, SILENCE_STATE_KEY, type SilenceAlertData } from './alert-state.ts';
import { evaluateSilence } from './silence.ts';

/** Ports of the silence check; adapters live in `silence-handler.ts`. */
export interface SilenceCheckDeps {
  devices(): Promise<DeviceItem[]>;
  /** Announces the alerts of one check; `failed` indexes into `alerts`. */
  publishAlerts(
    alerts: readonly AlertTransition<SilenceAlertData>[],
    producedAt: Date,
  ): Promise<PublishOutcome>;
  /** Saves the state only if it is still `previous`; `false` when it changed meanwhile. */
  saveAlertStates(
    deviceId: string,
    updates: readonly { key: string; next: AlertState; previous: AlertState | undefined }[],
  ): Promise<boolean>;
  warn(message: string, context: Record<string, unknown>): void;
}

/**
 * Raises `AlertRaised` (kind `silence`) for each device silent for three times its expected
 * interval, and `AlertResolved` once it reports again. Events go out before the state is saved,
 * so a crash in between re-sends the same event ids rather than losing them; a device whose event
 * the bus refused keeps its state, so the next check retries it.
 */
export const checkSilence = async (
  now: Date,
  deps: SilenceCheckDeps,
): Promise<{ raised: number; resolved: number }> => {
  const all = await deps.devices();
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
  const published = await deps.publishAlerts(evaluation.alerts, now);
  const failedDevices = new Set(published.failed.map(({ index }) => evaluation.alerts[index]?.data.deviceId));
  for (const [deviceId, next] of Object.entries(evaluation.states)) {
    if (failedDevices.has(deviceId)) continue;
    const previous = all.find((device) => device.deviceId === deviceId)?.alarmStates[SILENCE_STATE_KEY];
    const saved = await deps.saveAlertStates(deviceId, [{ key: SILENCE_STATE_KEY, next, previous }]);
    if (!saved) deps.warn('Silence state changed meanwhile; the next check re-evaluates', { deviceId });
  }
  if (published.failed.length > 0)
    deps.warn('Some silence alerts were not published; the next check retries', {
      failed: published.failed,
    });
  const sent = evaluation.alerts.filter((_, i) => !published.failed.some((f) => f.index === i));
  return {
    raised: sent.filter((a) => a.detailType === AlertRaised.detailType).length,
    resolved: sent.filter((a) => a.detailType === AlertResolved.detailType).length,
  };
};
