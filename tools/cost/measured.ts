/**
 * The measured units (`tools/cost/measured-units.json`, written by `npm run cost:measure`) and what
 * they give for a fleet: units per upload at any batch size and watched fraction, interpolated
 * between the measured scenarios (linear in the batch between the nearest measured batch sizes,
 * extrapolated along the outermost two, linear in the watchers of a device), plus the units of one alert and of one run of each schedule.
 * The rollups table's units are the exception: the consumer reads and writes once per stored
 * bucket an upload touches, so they are measured per bucket and multiplied by the buckets a
 * fleet's upload spreads over at its interval.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { BUCKET_MS, STORED_SIZES } from '../../handlers/lib/rollups.ts';
import { tables } from '../../infra/resources.ts';

export type Units = Record<string, number>;

const UnitsSchema = z.record(z.string(), z.number());

export const MeasuredUnitsSchema = z.object({
  commit: z.string(),
  /** Events dead-lettered during the measurement (0 on a machine with room): a non-zero count means the units are a little low. */
  deadLetters: z.number().int().nonnegative(),
  workload: z.object({
    devices: z.number().int().positive(),
    uploadsPerDevice: z.number().int().positive(),
    metricsPerReading: z.number().int().positive(),
  }),
  scenarios: z
    .array(
      z.object({
        name: z.string(),
        batch: z.number().int().positive(),
        watchers: z.number().int().nonnegative(),
        uploads: z.number().int().positive(),
        /**
         * Stored rollup buckets the scenario's uploads touched, per upload: its rollups units are
         * then priced per bucket, and a fleet's upload touches as many as its readings' spread says
         * ({@link storedBucketsPerUpload}), not as many as the measurement's.
         */
        rollupBuckets: z.optional(z.number().positive()),
        perUpload: UnitsSchema,
      }),
    )
    .min(1),
  perAlert: UnitsSchema,
  schedules: z.record(z.string(), z.object({ devices: z.number().int().nonnegative(), perRun: UnitsSchema })),
});
export type MeasuredUnits = z.infer<typeof MeasuredUnitsSchema>;

export const MEASURED_UNITS_FILE = resolve(import.meta.dirname, 'measured-units.json');

/** Reads and validates the committed measurement. */
export const loadMeasuredUnits = (file = MEASURED_UNITS_FILE): MeasuredUnits =>
  MeasuredUnitsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));

/** Units that are local wall-clock durations: shown, never priced, never compared for drift. */
export const isDuration = (unit: string): boolean =>
  unit.startsWith('lambda/ms/') || unit === 'lambda/gbSeconds';

/** The weighted sum of unit sets; units that come to nothing are left out. */
export const combineUnits = (terms: readonly [number, Units][]): Units => {
  const out: Units = {};
  for (const [weight, units] of terms)
    for (const [unit, n] of Object.entries(units)) out[unit] = (out[unit] ?? 0) + weight * n;
  for (const unit of Object.keys(out)) if ((out[unit] ?? 0) <= 1e-9) delete out[unit];
  return out;
};

/** Units of the rollups table, which the consumer reads and writes once per stored bucket an upload touches. */
export const isRollupsUnit = (unit: string): boolean => {
  const [service, , table] = unit.split('/');
  return service === 'dynamodb' && table === tables.rollups.name;
};

/**
 * The stored rollup buckets an upload of `batch` readings `intervalSeconds` apart touches, on
 * average over the phase of the upload against the UTC bucket boundaries: two consecutive readings
 * share a bucket of size S with probability max(0, 1 − interval / S), so an upload touches
 * `1 + (batch − 1) × min(1, interval / S)` buckets of each stored size.
 */
export const storedBucketsPerUpload = (batch: number, intervalSeconds: number): number =>
  STORED_SIZES.reduce(
    (sum, size) => sum + 1 + (batch - 1) * Math.min(1, (intervalSeconds * 1000) / BUCKET_MS[size]),
    0,
  );

/** Whether every scenario says how many stored rollup buckets it touched, so rollups are priced per bucket. */
const rollupsPerBucket = (m: MeasuredUnits): boolean =>
  m.scenarios.every((s) => s.rollupBuckets !== undefined);

/** A scenario's units per upload, with its rollups units per stored bucket when it says how many it touched. */
const perBucketOfRollups = (scenario: MeasuredUnits['scenarios'][number]): Units => {
  const buckets = scenario.rollupBuckets;
  if (buckets === undefined) return scenario.perUpload;
  return Object.fromEntries(
    Object.entries(scenario.perUpload).map(([unit, n]) => [unit, isRollupsUnit(unit) ? n / buckets : n]),
  );
};

/**
 * The units per upload of `watchers` watchers at batch `batch`: between two measured batch sizes
 * an upload's units are its per-upload part plus the batch times its per-reading part, so they are
 * linear between the two nearest measured batches, and past the largest (or below the smallest)
 * along the two outermost (an upload of 100 from those of 1 and 10 until 100 is measured too).
 */
const atBatch = (m: MeasuredUnits, watchers: number, batch: number): Units => {
  const measured = m.scenarios.filter((s) => s.watchers === watchers).sort((a, b) => a.batch - b.batch);
  if (measured.length === 0)
    throw new RangeError(`No measured scenario with ${watchers} watcher(s) per device`);
  const above = measured.findIndex((s) => s.batch >= batch);
  const upper = Math.min(Math.max(above === -1 ? measured.length - 1 : above, 1), measured.length - 1);
  const low = measured[Math.max(0, upper - 1)];
  const high = measured[upper];
  if (!low || !high) throw new RangeError(`No measured scenario with ${watchers} watcher(s) per device`);
  const unitsOf = (s: (typeof measured)[number]) =>
    rollupsPerBucket(m) ? perBucketOfRollups(s) : s.perUpload;
  if (low.batch === high.batch) return unitsOf(low);
  const t = (batch - low.batch) / (high.batch - low.batch);
  return combineUnits([
    [1 - t, unitsOf(low)],
    [t, unitsOf(high)],
  ]);
};

export interface FleetShape {
  /** Readings per upload. */
  readonly batch: number;
  /** Share of devices at least one dashboard watches. */
  readonly watchedFraction: number;
  /** Dashboards watching each watched device. */
  readonly watchersPerWatchedDevice: number;
  /** Seconds between two readings of a device: how many stored rollup buckets an upload spreads over. */
  readonly intervalSeconds: number;
}

/**
 * Units per upload for a fleet: an unwatched device's upload, plus for the watched share what the
 * first watcher adds and what each further watcher adds.
 */
export const unitsPerUpload = (m: MeasuredUnits, fleet: FleetShape): Units => {
  const levels = [...new Set(m.scenarios.map((s) => s.watchers))].sort((a, b) => a - b);
  const unwatched = atBatch(m, 0, fleet.batch);
  if (!levels.includes(1)) return unwatched;
  const first = combineUnits([
    [1, atBatch(m, 1, fleet.batch)],
    [-1, unwatched],
  ]);
  const further = levels.includes(2)
    ? combineUnits([
        [1, atBatch(m, 2, fleet.batch)],
        [-1, atBatch(m, 1, fleet.batch)],
      ])
    : {};
  const units = combineUnits([
    [1, unwatched],
    [fleet.watchedFraction, first],
    [fleet.watchedFraction * Math.max(0, fleet.watchersPerWatchedDevice - 1), further],
  ]);
  if (!rollupsPerBucket(m)) return units;
  const buckets = storedBucketsPerUpload(fleet.batch, fleet.intervalSeconds);
  return Object.fromEntries(
    Object.entries(units).map(([unit, n]) => [unit, isRollupsUnit(unit) ? n * buckets : n]),
  );
};

/** Relative drift of each unit between two measurements (durations left out); units only one has drift by 1. */
export const drift = (committed: Units, measured: Units): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const unit of new Set([...Object.keys(committed), ...Object.keys(measured)])) {
    if (isDuration(unit)) continue;
    const a = committed[unit] ?? 0;
    const b = measured[unit] ?? 0;
    out[unit] = a === b ? 0 : Math.abs(b - a) / Math.max(Math.abs(a), Math.abs(b));
  }
  return out;
};
