import * as z from 'zod/mini';
import type { EnrichmentWindow, HistoricalReading } from './derive.ts';

/** The device item's attribute holding the enrichment window. */
export const WINDOW_ATTRIBUTE = 'window';

/**
 * Readings by column, oldest first: their instants and, per metric, the value of each reading
 * (`null` where a reading lacks the metric). `at` holds the first instant in ms since the epoch,
 * then each one's distance from the one before: DynamoDB sizes a number by its significant digits
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html),
 * so a gap of 300000 ms takes 2 bytes where an ISO timestamp is a 24-byte string. A metric's name
 * is stored once instead of once per reading. A full window of 12 readings of 3 metrics, with its
 * version and event id, takes under 400 bytes where readings stored whole took about 1,100.
 */
const columnsShape = {
  at: /* @__PURE__ */ z.array(/* @__PURE__ */ z.number()),
  values: /* @__PURE__ */ z.record(
    /* @__PURE__ */ z.string(),
    /* @__PURE__ */ z.array(/* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number())),
  ),
};
const oneValuePerInstant = /* @__PURE__ */ z.refine<{
  at: number[];
  values: Record<string, (number | null)[]>;
}>(
  (columns) => Object.values(columns.values).every((column) => column.length === columns.at.length),
  'every metric has one value or null per instant',
);
const Columns = /* @__PURE__ */ z.object(columnsShape).check(oneValuePerInstant);
type Columns = z.infer<typeof Columns>;

/**
 * The window as the device item stores it. A write to an item is billed per started KB of the
 * item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
 * and the silence check's Scan reads every device item whole, so the window is kept compact: the
 * readings by column, and of the last event only the readings it pushed out (`out`, omitted when
 * none, as while the window fills).
 */
export const WindowItem = /* @__PURE__ */ z
  .object({
    version: /* @__PURE__ */ z.number(),
    eventId: /* @__PURE__ */ z.string(),
    ...columnsShape,
    out: /* @__PURE__ */ z.optional(Columns),
  })
  .check(oneValuePerInstant);
export type WindowItem = z.infer<typeof WindowItem>;

const toColumns = (readings: readonly HistoricalReading[]): Columns => {
  const names = [...new Set(readings.flatMap((reading) => Object.keys(reading.metrics)))];
  return {
    at: readings.map((reading, index) => {
      const at = Date.parse(reading.timestamp);
      const previous = readings[index - 1];
      return previous === undefined ? at : at - Date.parse(previous.timestamp);
    }),
    values: Object.fromEntries(
      names.map((name) => [
        name,
        readings.map((reading) =>
          Object.hasOwn(reading.metrics, name) ? (reading.metrics[name] ?? null) : null,
        ),
      ]),
    ),
  };
};

const fromColumns = (columns: Columns): HistoricalReading[] => {
  let at = 0;
  return columns.at.map((step, index) => {
    at += step;
    return {
      timestamp: new Date(at).toISOString(),
      metrics: Object.fromEntries(
        Object.entries(columns.values).flatMap(([name, column]) => {
          const value = column[index];
          return value === null || value === undefined ? [] : [[name, value]];
        }),
      ),
    };
  });
};

/** The window as the device item stores it. */
export const toWindowItem = (window: EnrichmentWindow): WindowItem => ({
  version: window.version,
  eventId: window.appliedEventId,
  ...toColumns(window.readings),
  ...(window.pushedOut.length > 0 ? { out: toColumns(window.pushedOut) } : {}),
});

/** The window of a stored item; timestamps come back as ISO strings in UTC, at the same instants. */
export const fromWindowItem = (item: WindowItem): EnrichmentWindow => ({
  version: item.version,
  appliedEventId: item.eventId,
  readings: fromColumns(item),
  pushedOut: item.out ? fromColumns(item.out) : [],
});
