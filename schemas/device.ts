import * as z from 'zod/mini';
import { DeviceId, MetricName, Metrics, Severity, StorableNumber, Timestamp } from './common.ts';

export const Location = z.union([
  z.string().check(z.minLength(1), z.maxLength(200)),
  z.strictObject({
    latitude: z.pipe(StorableNumber, z.number().check(z.gte(-90), z.lte(90))),
    longitude: z.pipe(StorableNumber, z.number().check(z.gte(-180), z.lte(180))),
    label: z.optional(z.string().check(z.maxLength(200))),
  }),
]);

/** The longest escalation period: one week. */
export const MAX_ESCALATE_AFTER_MINUTES = 10_080;

/** A threshold on one metric: raised when the value goes above `above` or below `below`. */
export const Alarm = z
  .strictObject({
    metric: MetricName,
    above: z.optional(StorableNumber),
    below: z.optional(StorableNumber),
    severity: Severity,
    /** Notify again after this long, and each such period, while nobody acknowledges or snoozes the alert. */
    escalateAfterMinutes: z.optional(z.int().check(z.gte(1), z.lte(MAX_ESCALATE_AFTER_MINUTES))),
  })
  .check(
    z.refine((alarm) => alarm.above !== undefined || alarm.below !== undefined, {
      message: 'needs `above`, `below` or both',
      path: ['above'],
    }),
    z.refine((alarm) => alarm.above === undefined || alarm.below === undefined || alarm.below < alarm.above, {
      message: '`below` must be less than `above`',
      path: ['below'],
    }),
  );
export type Alarm = z.infer<typeof Alarm>;

export const MAX_ALARMS = 20;

/** Body of `PUT /devices/{deviceId}`: every field optional; an update replaces the fields it names. */
export const PutDeviceRequest = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  location: z.optional(Location),
  metrics: z.optional(
    z
      .record(
        MetricName,
        z.strictObject({ unit: z.optional(z.string().check(z.minLength(1), z.maxLength(32))) }),
      )
      .check(z.refine((metrics) => Object.keys(metrics).length <= 50, 'must describe at most 50 metrics')),
  ),
  alarms: z.optional(z.array(Alarm).check(z.maxLength(MAX_ALARMS))),
  expectedIntervalSeconds: z.optional(z.int().check(z.gte(1), z.lte(86_400))),
});
export type PutDeviceRequest = z.infer<typeof PutDeviceRequest>;

export const AlarmStateName = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export const AlarmState = z.strictObject({
  metric: MetricName,
  above: z.optional(z.number()),
  below: z.optional(z.number()),
  severity: Severity,
  escalateAfterMinutes: z.optional(z.int()),
  state: AlarmStateName,
  since: z.optional(Timestamp),
});

export const LastReading = z.strictObject({ timestamp: Timestamp, metrics: Metrics, receivedAt: Timestamp });
export type LastReading = z.infer<typeof LastReading>;

/** A device as the API serves it. The API key is never part of it. */
export const Device = z.strictObject({
  deviceId: DeviceId,
  name: z.optional(z.string()),
  location: z.optional(Location),
  metrics: z.record(MetricName, z.object({ unit: z.optional(z.string()) })),
  alarms: z.array(Alarm),
  expectedIntervalSeconds: z.optional(z.int()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastReading: z.optional(LastReading),
  alarmStates: z.array(AlarmState),
});
export type Device = z.infer<typeof Device>;

/** Body of `POST /devices/{deviceId}/keys`: how long the old key keeps working. */
export const RotateKeyRequest = z.strictObject({
  graceSeconds: z.optional(z.int().check(z.gte(0), z.lte(86_400))),
});
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>;
