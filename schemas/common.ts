import * as z from 'zod/mini';
import './locale.ts';

// `/* @__PURE__ */` marks each schema's construction free of side effects, which zod's builders do
// not all declare themselves: a function's bundle then keeps only the schemas it uses
// (https://esbuild.github.io/api/#pure). Registering in `z.globalRegistry` is only read by
// `npm run schemas`, which uses them all.

/** Device ids appear in URL paths, table keys and event patterns, so they are kept URL-safe. */
export const DeviceId = /* @__PURE__ */ z
  .string()
  .check(
    /* @__PURE__ */ z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
      'must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit',
    ),
  )
  .register(z.globalRegistry, { description: 'Device identifier', examples: ['greenhouse-1'] });

/** RFC 3339 date-time with a `Z` or numeric offset, e.g. `2026-11-23T10:15:00+01:00`. */
export const Timestamp = /* @__PURE__ */ z.iso
  .datetime({
    offset: true,
    message: 'must be an RFC 3339 date-time with an offset, e.g. 2026-11-23T10:15:00Z',
  })
  .register(z.globalRegistry, { description: 'RFC 3339 date-time with offset' });

export const MetricName = /* @__PURE__ */ z
  .string()
  .check(
    /* @__PURE__ */ z.regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'metric names match [A-Za-z][A-Za-z0-9_]{0,63}'),
  );

export const MAX_METRICS = 50;

/**
 * A number DynamoDB and the document client store exactly: at most ±(2^53 − 1), and 0 or at
 * least 1e-130 in size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
 */
export const StorableNumber = /* @__PURE__ */ z.number({ message: 'must be a finite number' }).check(
  /* @__PURE__ */ z.refine(
    (value) => Math.abs(value) <= Number.MAX_SAFE_INTEGER && (value === 0 || Math.abs(value) >= 1e-130),
    {
      message: 'must be between -9007199254740991 and 9007199254740991, and 0 or at least 1e-130 in size',
    },
  ),
);

/** 1..50 finite numbers keyed by metric name. */
export const Metrics = /* @__PURE__ */ z
  .record(MetricName, StorableNumber)
  .check(
    /* @__PURE__ */ z.refine((metrics) => {
      const count = Object.keys(metrics).length;
      return count >= 1 && count <= MAX_METRICS;
    }, `must hold 1 to ${MAX_METRICS} metrics`),
  )
  .register(z.globalRegistry, {
    description: 'Metric values keyed by metric name',
    examples: [{ temperature: 21.5, humidity: 48 }],
  });

export const Severity = /* @__PURE__ */ z.enum(['warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** Who may do what: `admin` everything, `operator` read and act on alerts, `viewer` read only. */
export const Role = /* @__PURE__ */ z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;
