import * as z from 'zod/mini';
import { builtAtFirstUse } from './built-at-first-use.ts';
import { DeviceId, MetricName, Metrics, Severity, StorableNumber, Timestamp } from './common.ts';

export const Location = /* @__PURE__ */ z.union([
  /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(200)),
  /* @__PURE__ */ z.strictObject({
    latitude: /* @__PURE__ */ z.pipe(
      StorableNumber,
      /* @__PURE__ */ z.number().check(/* @__PURE__ */ z.gte(-90), /* @__PURE__ */ z.lte(90)),
    ),
    longitude: /* @__PURE__ */ z.pipe(
      StorableNumber,
      /* @__PURE__ */ z.number().check(/* @__PURE__ */ z.gte(-180), /* @__PURE__ */ z.lte(180)),
    ),
    label: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string().check(/* @__PURE__ */ z.maxLength(200))),
  }),
]);

/** The longest escalation period: one week. */
export const MAX_ESCALATE_AFTER_MINUTES = 10_080;

/** A threshold on one metric: raised when the value goes above `above` or below `below`. */
export const Alarm = /* @__PURE__ */ z
  .strictObject({
    metric: MetricName,
    above: /* @__PURE__ */ z.optional(StorableNumber),
    below: /* @__PURE__ */ z.optional(StorableNumber),
    severity: Severity,
    /** Notify again after this long, and each such period, while nobody acknowledges or snoozes the alert. */
    escalateAfterMinutes: /* @__PURE__ */ z.optional(
      /* @__PURE__ */ z
        .int()
        .check(/* @__PURE__ */ z.gte(1), /* @__PURE__ */ z.lte(MAX_ESCALATE_AFTER_MINUTES)),
    ),
  })
  .check(
    /* @__PURE__ */ z.refine((alarm) => alarm.above !== undefined || alarm.below !== undefined, {
      message: 'needs `above`, `below` or both',
      path: ['above'],
    }),
    /* @__PURE__ */ z.refine(
      (alarm) => alarm.above === undefined || alarm.below === undefined || alarm.below < alarm.above,
      {
        message: '`below` must be less than `above`',
        path: ['below'],
      },
    ),
  );
export type Alarm = z.infer<typeof Alarm>;

export const MAX_ALARMS = 20;

/**
 * Body of `PUT /devices/{deviceId}`: every field optional; an update replaces the fields it names.
 * Built at first use, as the body of the other routes: the device registry serves three.
 */
export const PutDeviceRequest = /* @__PURE__ */ builtAtFirstUse(() =>
  z.strictObject({
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    location: z.optional(Location),
    metrics: z.optional(
      z
        .record(
          MetricName,
          z.strictObject({
            unit: z.optional(z.string().check(z.minLength(1), z.maxLength(32))),
          }),
        )
        .check(z.refine((metrics) => Object.keys(metrics).length <= 50, 'must describe at most 50 metrics')),
    ),
    alarms: z.optional(z.array(Alarm).check(z.maxLength(MAX_ALARMS))),
    expectedIntervalSeconds: z.optional(z.int().check(z.gte(1), z.lte(86_400))),
  }),
);
export type PutDeviceRequest = z.infer<ReturnType<typeof PutDeviceRequest>>;

export const AlarmStateName = /* @__PURE__ */ z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export const AlarmState = /* @__PURE__ */ z.strictObject({
  metric: MetricName,
  above: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  below: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  severity: Severity,
  escalateAfterMinutes: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.int()),
  state: AlarmStateName,
  since: /* @__PURE__ */ z.optional(Timestamp),
});

export const LastReading = /* @__PURE__ */ z.strictObject({
  timestamp: Timestamp,
  metrics: Metrics,
  receivedAt: Timestamp,
});
export type LastReading = z.infer<typeof LastReading>;

/** A device as the API serves it. The API key is never part of it. */
export const Device = /* @__PURE__ */ z.strictObject({
  deviceId: DeviceId,
  name: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  location: /* @__PURE__ */ z.optional(Location),
  metrics: /* @__PURE__ */ z.record(
    MetricName,
    /* @__PURE__ */ z.object({ unit: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()) }),
  ),
  alarms: /* @__PURE__ */ z.array(Alarm),
  expectedIntervalSeconds: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.int()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastReading: /* @__PURE__ */ z.optional(LastReading),
  alarmStates: /* @__PURE__ */ z.array(AlarmState),
});
export type Device = z.infer<typeof Device>;

/** Body of `POST /devices/{deviceId}/keys`: how long the old key keeps working. */
export const RotateKeyRequest = /* @__PURE__ */ builtAtFirstUse(() =>
  z.strictObject({
    graceSeconds: z.optional(z.int().check(z.gte(0), z.lte(86_400))),
  }),
);
export type RotateKeyRequest = z.infer<ReturnType<typeof RotateKeyRequest>>;
