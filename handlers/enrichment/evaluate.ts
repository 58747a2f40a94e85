import type { LastReading } from '../../schemas/device.ts';
import type { AlertState, DeviceItem } from '../lib/devices-store.ts';
import { WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import { evaluateAlarms } from './alarms.ts';
import type { AlertTransition, ThresholdAlertData } from './alert-state.ts';

/** How often another evaluation may change the device's alarm states under us before we give up. */
export const MAX_CONFLICTS = 5;

/** The reading being evaluated, as the `ReadingRecorded` event carries it. */
export interface ReadingToEvaluate {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly receivedAt: string;
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
  /** Records the newest reading; an older one arriving late changes nothing. */
  touchLastReading(deviceId: string, lastReading: LastReading): Promise<void>;
}

const unitsOf = (device: DeviceItem): Record<string, string> =>
  Object.fromEntries(
    Object.entries(device.metrics).flatMap(([metric, spec]) => (spec.unit ? [[metric, spec.unit]] : [])),
  );

/**
 * Evaluates the device's alarms against the reading, saves the states that change (again from a
 * fresh read when another evaluation changed them meanwhile) and records the device's newest
 * reading. Answers the alert transitions to announce.
 */
export const evaluate = async (
  reading: ReadingToEvaluate,
  deps: EvaluateDeps,
): Promise<AlertTransition<ThresholdAlertData>[]> => {
  const { deviceId } = reading;
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
    const device = await deps.device(deviceId);
    if (!device)
      throw new WorkflowError(WorkflowErrors.DeviceNotFound, `Device ${deviceId} is not registered`);
    const evaluation = evaluateAlarms({
      alarms: device.alarms,
      states: device.alarmStates,
      reading,
      units: unitsOf(device),
    });
    const saved = await deps.saveAlertStates(
      deviceId,
      Object.entries(evaluation.states).map(([key, next]) => ({
        key,
        next,
        previous: device.alarmStates[key],
      })),
    );
    if (saved) {
      await deps.touchLastReading(deviceId, {
        timestamp: reading.timestamp,
        metrics: reading.metrics,
        receivedAt: reading.receivedAt,
      });
      return evaluation.alerts;
    }
  }
  throw new WorkflowError(WorkflowErrors.Transient, `Alarm states of ${deviceId} kept changing under us`);
};
