import { AlertRaised, AlertResolved } from '../../schemas/events.ts';
import type { AlertState } from '../lib/devices-store.ts';
import type { PublishOutcome } from '../lib/events.ts';
import {
  type AlertTransition,
  claimedResolutions,
  SILENCE_STATE_KEY,
  type SilenceAlertData,
} from './alert-state.ts';
import { evaluateSilence, type SilenceCandidate } from './silence.ts';

/** Ports of the silence check; adapters live in `silence-handler.ts`. */
export interface SilenceCheckDeps {
  /**
   * Reads every device the check evaluates (those with an expected interval), handing them over a
   * page at a time; pages of different scan segments may be handled at the same time.
   */
  scanDevices(onPage: (page: readonly SilenceCandidate[]) => Promise<void>): Promise<void>;
  /** Announces the alerts of one page; `failed` indexes into `alerts`. */
  publishAlerts(
    alerts: readonly AlertTransition<SilenceAlertData>[],
    producedAt: Date,
  ): Promise<PublishOutcome>;
  /** Saves the state only if it is still `previous`; `false` when it changed meanwhile. */
  saveAlertStates(
    deviceId: string,
    updates: readonly { key: string; next: AlertState; previous: AlertState | undefined }[],
  ): Promise<boolean>;
  /** Claims an alert's resolution for its device; `false` when someone resolved it by hand first. */
  claimResolution(alertId: string): Promise<boolean>;
  warn(message: string, context: Record<string, unknown>): void;
}

/**
 * Raises `AlertRaised` (kind `silence`) for each device silent for three times its expected
 * interval, and `AlertResolved` once it reports again (unless someone resolved that silence by
 * hand first: the resolution is claimed before it is announced). Events go out before the state is saved,
 * so a crash in between re-sends the same event ids rather than losing them; a device whose event
 * the bus refused keeps its state, so the next check retries it.
 *
 * The devices come a page at a time and each page is evaluated, announced and saved on its own, so
 * a run holds one page per scan segment in memory, not the fleet; a run that fails part-way has
 * saved what it announced, and the next run finds the rest (every alert's id derives from the
 * silence, not from the run).
 */
export const checkSilence = async (
  now: Date,
  deps: SilenceCheckDeps,
): Promise<{ raised: number; resolved: number }> => {
  const report = { raised: 0, resolved: 0 };
  const refused: { deviceId: string; error: string }[] = [];
  await deps.scanDevices(async (page) => {
    const evaluation = evaluateSilence(page, now);
    if (evaluation.alerts.length === 0) return;
    const alerts = await claimedResolutions(evaluation.alerts, deps.claimResolution);
    const published = await deps.publishAlerts(alerts, now);
    const failed = new Set(published.failed.map(({ index }) => index));
    const failedDevices = new Set<string>();
    for (const { index, error } of published.failed) {
      const deviceId = alerts[index]?.data.deviceId;
      if (deviceId === undefined) continue;
      failedDevices.add(deviceId);
      refused.push({ deviceId, error });
    }
    const previous = new Map(page.map((device) => [device.deviceId, device.silence]));
    const changed = Object.entries(evaluation.states).filter(([deviceId]) => !failedDevices.has(deviceId));
    // One save at a time per page: the segments' pages already run side by side, one save each.
    for (const [deviceId, next] of changed) {
      const saved = await deps.saveAlertStates(deviceId, [
        { key: SILENCE_STATE_KEY, next, previous: previous.get(deviceId) },
      ]);
      if (!saved) deps.warn('Silence state changed meanwhile; the next check re-evaluates', { deviceId });
    }
    alerts.forEach((alert, index) => {
      if (failed.has(index)) return;
      if (alert.detailType === AlertRaised.detailType) report.raised += 1;
      if (alert.detailType === AlertResolved.detailType) report.resolved += 1;
    });
  });
  if (refused.length > 0)
    deps.warn('Some silence alerts were not published; the next check retries', { failed: refused });
  return report;
};
