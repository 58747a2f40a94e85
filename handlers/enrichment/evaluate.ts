import type { AlertState, DeviceItem } from '../lib/devices-store.ts';
import { WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import { evaluateAlarms } from './alarms.ts';
import { type AlertTransition, claimedResolutions, type ThresholdAlertData } from './alert-state.ts';

/** How often another evaluation may change the device's alarm states under us before we give up. */
export const MAX_CONFLICTS = 5;

/** The readings being evaluated, as a `ReadingRecorded` v2 event carries them: one upload, oldest first. */
export interface UploadToEvaluate {
  readonly deviceId: string;
  readonly readings: readonly {
    readonly timestamp: string;
    readonly metrics: Readonly<Record<string, number>>;
  }[];
}

/** Ports of the evaluate use case; adapters live in `evaluate-handler.ts`. */
export interface EvaluateDeps {
  /** The device as it is now (strongly consistent: alarm state is read-modify-write). */
  device(deviceId: string): Promise<DeviceItem | undefined>;
  /** Saves states only if each is still `previous`; `false` when another evaluation got there first. */
  saveAlertStates(
    deviceId: string,
    updates: readonly { key: string; next: AlertState; previous: AlertState | undefined }[],
  ): Promise<boolean>;
  /**
   * Claims the resolution of an alert for its device (see `Resolver` in the alert records):
   * `false` when someone resolved it by hand first, whose `AlertResolved` is then the only one.
   */
  claimResolution(alertId: string): Promise<boolean>;
}

const unitsOf = (device: DeviceItem): Record<string, string> =>
  Object.fromEntries(
    Object.entries(device.metrics).flatMap(([metric, spec]) => (spec.unit ? [[metric, spec.unit]] : [])),
  );

/**
 * Evaluates the device's alarms against each reading of an upload in time order, as if they had
 * arrived one by one (an alarm breached and recovered within the upload raises once and resolves
 * once), saves the states that changed in one conditional write (again from a fresh read when
 * another evaluation changed them meanwhile). Answers the
 * alert transitions to announce, in order: a resolve only once the device holds the alert's
 * resolution claim, so an operator resolving it by hand at the same moment leaves one
 * `AlertResolved`, whichever claims first. The claim follows the saved state, so a retry after a
 * crash in between re-evaluates the same reading and claims again.
 */
export const evaluate = async (
  upload: UploadToEvaluate,
  deps: EvaluateDeps,
): Promise<AlertTransition<ThresholdAlertData>[]> => {
  const { deviceId } = upload;
  const readings = [...upload.readings].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
    const device = await deps.device(deviceId);
    if (!device)
      throw new WorkflowError(WorkflowErrors.DeviceNotFound, `Device ${deviceId} is not registered`);
    const units = unitsOf(device);
    let states = device.alarmStates;
    const changed: Record<string, AlertState> = {};
    const alerts: AlertTransition<ThresholdAlertData>[] = [];
    for (const reading of readings) {
      const evaluation = evaluateAlarms({
        alarms: device.alarms,
        states,
        reading: { deviceId, ...reading },
        units,
      });
      states = { ...states, ...evaluation.states };
      Object.assign(changed, evaluation.states);
      alerts.push(...evaluation.alerts);
    }
    const saved = await deps.saveAlertStates(
      deviceId,
      Object.entries(changed).map(([key, next]) => ({ key, next, previous: device.alarmStates[key] })),
    );
    if (saved) return claimedResolutions(alerts, deps.claimResolution);
  }
  throw new WorkflowError(WorkflowErrors.Transient, `Alarm states of ${deviceId} kept changing under us`);
};
