import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import * as z from 'zod/mini';
import { EventMetadata, ReadingEnriched, ReadingRecorded } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { type DeviceItem, dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { buildEntry, chunkEntries } from '../lib/events.ts';
import { asWorkflowError, WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import { evaluateAlarms } from './alarms.ts';
import { alertEntry } from './alert-events.ts';

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const busName = requireEnv('TELEMETRY_BUS');

const Input = z.object({
  reading: ReadingRecorded.data,
  metadata: EventMetadata,
  enrichment: ReadingEnriched.data,
});

const MAX_CONFLICTS = 5;

/** Evaluates the device's alarms against the reading and saves the states that change. */
const evaluate = async (deviceId: string, reading: z.infer<typeof ReadingRecorded.data>) => {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
    const device: DeviceItem | undefined = await devices.getConsistent(deviceId);
    if (!device)
      throw new WorkflowError(WorkflowErrors.DeviceNotFound, `Device ${deviceId} is not registered`);
    const units = Object.fromEntries(
      Object.entries(device.metrics).flatMap(([metric, spec]) => (spec.unit ? [[metric, spec.unit]] : [])),
    );
    const evaluation = evaluateAlarms({ alarms: device.alarms, states: device.alarmStates, reading, units });
    const saved = await devices.updateAlertStates(
      deviceId,
      Object.entries(evaluation.states).map(([key, next]) => ({
        key,
        next,
        previous: device.alarmStates[key],
      })),
    );
    if (saved) return evaluation.alerts;
  }
  throw new WorkflowError(WorkflowErrors.Transient, `Alarm states of ${deviceId} kept changing under us`);
};

/**
 * Task `EvaluateAlarms` of the enrich-reading workflow; it also records the device's newest
 * reading, off the ingest's request path. It reads the device itself, strongly
 * consistent, because alarm state is read-modify-write: the profile loaded at the start of the
 * execution may be stale by now. Answers the events to publish, in PutEvents-sized batches.
 */
export const handler = async (
  event: unknown,
): Promise<{ batches: PutEventsRequestEntry[][]; alerts: number }> => {
  const input = Input.safeParse(event);
  if (!input.success) throw new WorkflowError(WorkflowErrors.InvalidInput, input.error.message);
  const { reading, metadata, enrichment } = input.data;
  try {
    const alerts = await evaluate(reading.deviceId, reading);
    await devices.touchLastReading(reading.deviceId, {
      timestamp: reading.timestamp,
      metrics: reading.metrics,
      receivedAt: reading.receivedAt,
    });
    const producedAt = new Date().toISOString();
    const entries = [
      buildEntry(ReadingEnriched, {
        busName,
        data: enrichment,
        idempotencyKey: reading.readingId,
        correlationId: metadata.correlationId,
        producedAt,
      }),
      ...alerts.map((alert) => alertEntry(alert, busName, metadata.correlationId, producedAt)),
    ];
    return { batches: chunkEntries(entries, (entry) => entry), alerts: alerts.length };
  } catch (error) {
    throw asWorkflowError(error);
  }
};
