import * as z from 'zod/mini';
import { EventMetadata, ReadingRecorded } from '../../schemas/events.ts';
import { dynamoAlertMarks } from '../alerts/records.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import type { EventEntry } from '../lib/events.ts';
import { chunkEntries } from '../lib/events.ts';
import { asWorkflowError, WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import { alertEntry } from './alert-events.ts';
import { type EvaluateDeps, evaluate } from './evaluate.ts';

const Input = z.object({ upload: ReadingRecorded.data, metadata: EventMetadata });

/**
 * Task `EvaluateAlarms` of the enrich-reading workflow, over the readings of one upload (the
 * device's newest reading is recorded by `DeriveMetrics`, with its window). It reads the device itself,
 * strongly consistent, because alarm state is read-modify-write: the profile loaded at the start
 * of the execution may be stale by now. Answers the alert events to publish, in PutEvents-sized
 * batches (few and small: the workflow's state carries them).
 */
export const makeHandler =
  (deps: EvaluateDeps, busName: string) =>
  async (event: unknown): Promise<{ batches: EventEntry[][]; alerts: number }> => {
    const input = Input.safeParse(event);
    if (!input.success) throw new WorkflowError(WorkflowErrors.InvalidInput, input.error.message);
    const { upload, metadata } = input.data;
    try {
      const alerts = await evaluate(upload, deps);
      const producedAt = new Date().toISOString();
      const entries = alerts.map((alert) => alertEntry(alert, busName, metadata.correlationId, producedAt));
      return { batches: chunkEntries(entries, (entry) => entry), alerts: alerts.length };
    } catch (error) {
      throw asWorkflowError(error);
    }
  };

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const alerts = dynamoAlertMarks(dynamo, requireEnv('ALERTS_TABLE'));

export const liveEvaluateDeps = (): EvaluateDeps => ({
  device: (deviceId) => devices.getConsistent(deviceId),
  saveAlertStates: (deviceId, updates) => devices.updateAlertStates(deviceId, updates),
  claimResolution: (alertId) => alerts.claimForDevice(alertId),
});

export const handler = makeHandler(liveEvaluateDeps(), requireEnv('TELEMETRY_BUS'));
