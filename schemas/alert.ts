import * as z from 'zod/mini';
import { builtAtFirstUse } from './built-at-first-use.ts';
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

/**
 * Body of `POST /alerts/{alertId}/snooze`: for so many minutes (1..10080, a week), or until a time.
 * Built at first use, as the query of `GET /alerts`: each is one route's of the alerts function.
 */
export const SnoozeRequest = /* @__PURE__ */ builtAtFirstUse(() =>
  z.union([
    z.strictObject({
      minutes: z.int().check(z.gte(1), z.lte(MAX_SNOOZE_MINUTES)),
    }),
    z.strictObject({ until: Timestamp }),
  ]),
);
export type SnoozeRequest = z.infer<ReturnType<typeof SnoozeRequest>>;

/** The query of `GET /alerts`: every filter optional, all of them applied together. */
export const AlertsQuery = /* @__PURE__ */ builtAtFirstUse(() =>
  z.strictObject({
    deviceId: z.optional(DeviceId),
    state: z.optional(z.enum(['active', 'resolved'])),
    acknowledged: z.optional(
      z.pipe(
        z.enum(['true', 'false']),
        z.transform((text) => text === 'true'),
      ),
    ),
    severity: z.optional(Severity),
    limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(500))),
  }),
);
