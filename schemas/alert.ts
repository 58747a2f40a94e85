import * as z from 'zod/mini';
import { DeviceId, Severity, Timestamp } from './common.ts';

/** The longest snooze: a week. */
export const MAX_SNOOZE_MINUTES = 10_080;

/** An alert's id as paths carry it (the enrichment makes UUIDs). */
export const AlertId = /* @__PURE__ */ z
  .string()
  .check(
    /* @__PURE__ */ z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
      'must be 1-128 characters of A-Z a-z 0-9 _ . : -',
    ),
  );

/** Body of `POST /alerts/{alertId}/snooze`: for so many minutes (1..10080, a week), or until a time. */
export const SnoozeRequest = /* @__PURE__ */ z.union([
  /* @__PURE__ */ z.strictObject({
    minutes: /* @__PURE__ */ z
      .int()
      .check(/* @__PURE__ */ z.gte(1), /* @__PURE__ */ z.lte(MAX_SNOOZE_MINUTES)),
  }),
  /* @__PURE__ */ z.strictObject({ until: Timestamp }),
]);
export type SnoozeRequest = z.infer<typeof SnoozeRequest>;

const Flag = /* @__PURE__ */ z.pipe(
  /* @__PURE__ */ z.enum(['true', 'false']),
  /* @__PURE__ */ z.transform((text) => text === 'true'),
);

/** The query of `GET /alerts`: every filter optional, all of them applied together. */
export const AlertsQuery = /* @__PURE__ */ z.strictObject({
  deviceId: /* @__PURE__ */ z.optional(DeviceId),
  state: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.enum(['active', 'resolved'])),
  acknowledged: /* @__PURE__ */ z.optional(Flag),
  severity: /* @__PURE__ */ z.optional(Severity),
  limit: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.coerce
      .number()
      .check(/* @__PURE__ */ z.int(), /* @__PURE__ */ z.gte(1), /* @__PURE__ */ z.lte(500)),
  ),
});
