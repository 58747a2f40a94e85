import * as z from 'zod';
import { DeviceId, MetricName, Metrics, Severity, StorableNumber, Timestamp } from './common.ts';

export const Location = z.union([
  z.string().min(1).max(200),
  z
    .object({
      latitude: StorableNumber.pipe(z.number().min(-90).max(90)),
      longitude: StorableNumber.pipe(z.number().min(-180).max(180)),
      label: z.string().max(200).optional(),
    })
    .strict(),
]);

/** A threshold on one metric: raised when the value goes above `above` or below `below`. */
export const Alarm = z
  .object({
    metric: MetricName,
    above: StorableNumber.optional(),
    below: StorableNumber.optional(),
    severity: Severity,
  })
  .strict()
  .refine((alarm) => alarm.above !== undefined || alarm.below !== undefined, {
    message: 'needs `above`, `below` or both',
    path: ['above'],
  })
  .refine((alarm) => alarm.above === undefined || alarm.below === undefined || alarm.below < alarm.above, {
    message: '`below` must be less than `above`',
    path: ['below'],
  });
export type Alarm = z.infer<typeof Alarm>;

export const MAX_ALARMS = 20;

/** Body of `PUT /devices/{deviceId}`: every field optional; an update replaces the fields it names. */
export const PutDeviceRequest = z
  .object({
    name: z.string().min(1).max(200).optional(),
    location: Location.optional(),
    metrics: z
      .record(MetricName, z.object({ unit: z.string().min(1).max(32).optional() }).strict())
      .refine((metrics) => Object.keys(metrics).length <= 50, 'must describe at most 50 metrics')
      .optional(),
    alarms: z.array(Alarm).max(MAX_ALARMS).optional(),
    expectedIntervalSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict();
export type PutDeviceRequest = z.infer<typeof PutDeviceRequest>;

export const AlarmStateName = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export const AlarmState = z
  .object({
    metric: MetricName,
    above: z.number().optional(),
    below: z.number().optional(),
    severity: Severity,
    state: AlarmStateName,
    since: Timestamp.optional(),
  })
  .strict();

export const LastReading = z
  .object({ timestamp: Timestamp, metrics: Metrics, receivedAt: Timestamp })
  .strict();
export type LastReading = z.infer<typeof LastReading>;

/** A device as the API serves it. The API key is never part of it. */
export const Device = z
  .object({
    deviceId: DeviceId,
    name: z.string().optional(),
    location: Location.optional(),
    metrics: z.record(MetricName, z.object({ unit: z.string().optional() })),
    alarms: z.array(Alarm),
    expectedIntervalSeconds: z.number().int().optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastReading: LastReading.optional(),
    alarmStates: z.array(AlarmState),
  })
  .strict();
export type Device = z.infer<typeof Device>;
