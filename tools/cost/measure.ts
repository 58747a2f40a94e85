/**
 * Measures the billable units of the code as it runs: drives a known workload through an in-process
 * local cloud with a meter on (devices posting uploads of N readings, dashboards watching some of
 * them, alarms that raise and resolve alerts, one run of each schedule) and reports the units per
 * upload of each scenario. `npm run cost:measure` writes them to `tools/cost/measured-units.json`,
 * which `npm run cost` prices; `test/integration/cost-measured-units.test.ts` re-measures a small
 * workload and fails when the committed file drifts.
 *
 * Each device posts one upload before the meter is reset, so the device's enrichment window is
 * full, as it is for a device that has been reporting: the
 * device item, whose size the writes of each upload are billed on, has its steady-state size.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { DEFAULT_WINDOW } from '../../handlers/enrichment/derive.ts';
import { bucketStartMs, STORED_SIZES } from '../../handlers/lib/rollups.ts';
import { schedules } from '../../infra/api.ts';
import { Meter } from '../../local-cloud/emulators/shared/meter.ts';
import { startTestCloud, type TestCloud, waitFor } from '../../test/support/local-cloud.ts';
import { MEASURED_UNITS_FILE, type MeasuredUnits, type Units } from './measured.ts';

type ScenarioUnits = MeasuredUnits['scenarios'][number];

export interface Workload {
  readonly devices: number;
  readonly uploadsPerDevice: number;
}

const METRICS_PER_READING = 3;
const ALARM = { metric: 'temperature', above: 100, severity: 'warning' } as const;

/** The scenarios measured: batch sizes and watchers per device the model interpolates between. */
export const SCENARIOS = [
  { batch: 1, watchers: 0 },
  { batch: 10, watchers: 0 },
  { batch: 1, watchers: 1 },
  { batch: 10, watchers: 1 },
  { batch: 1, watchers: 2 },
  { batch: 10, watchers: 2 },
] as const;

const divide = (units: Units, by: number): Units =>
  Object.fromEntries(Object.entries(units).map(([unit, n]) => [unit, n / by]));

/** `a - b`, unit by unit. */
export const subtract = (a: Units, b: Units): Units => {
  const out: Units = {};
  for (const unit of new Set([...Object.keys(a), ...Object.keys(b)]))
    out[unit] = (a[unit] ?? 0) - (b[unit] ?? 0);
  return out;
};

const commit = (): string => {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
};

/** Waits until nothing is in flight: deliveries, workflows, SNS, stream batches, and the meter has stopped moving. */
const settle = async (t: TestCloud, meter: Meter): Promise<void> => {
  let last = '';
  let still = 0;
  await waitFor(
    async () => {
      await t.cloud.stepFunctions.idle();
      await t.cloud.sns.idle();
      const quiet =
        !t.cloud.events.busy() &&
        t.cloud.events.pendingCount() === 0 &&
        !t.cloud.stepFunctions.busy() &&
        t.cloud.streamConsumers.idle();
      const now = JSON.stringify(meter.snapshot());
      still = quiet && now === last ? still + 1 : 0;
      last = now;
      return still >= 8;
    },
    'the local cloud to settle',
    300_000,
  );
};

const scale = (units: Units, by: number): Units =>
  Object.fromEntries(Object.entries(units).map(([unit, n]) => [unit, n * by]));

/** A dashboard watching devices: connected, subscribed, counting pushes. */
const watch = async (t: TestCloud, deviceIds: string[]): Promise<WebSocket> => {
  const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${await t.viewerToken(deviceIds)}`);
  await new Promise<void>((resolveOpen, reject) => {
    socket.once('open', () => resolveOpen());
    socket.once('error', reject);
  });
  const subscribed = new Promise<void>((resolveSubscribed, reject) =>
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type?: string };
      if (message.type === 'subscribed') resolveSubscribed();
      if (message.type === 'error') reject(new Error(raw.toString()));
    }),
  );
  socket.send(JSON.stringify({ action: 'subscribe', deviceIds }));
  await subscribed;
  return socket;
};

/** The latest 6 h boundary (UTC) before now: the readings are placed from it, so the stored rollup buckets they touch are the same in every run. */
const anchorMs = (): number => bucketStartMs(Date.now(), '6h');

/** Readings spaced a minute apart, the first `startMinute` minutes before the anchor; `value` sets the alarmed metric. */
const readingsOf = (deviceId: string, count: number, startMinute: number, value: (i: number) => number) => {
  const anchor = anchorMs();
  return Array.from({ length: count }, (_, i) => ({
    deviceId,
    timestamp: new Date(anchor - (startMinute - i) * 60_000).toISOString(),
    metrics: { temperature: value(i), humidity: 40 + (i % 7), pressure: 1013.25 },
  }));
};

/** The stored rollup buckets an upload touches: the rollups consumer reads and writes each once. */
export const rollupBucketsOf = (readings: readonly { timestamp: string }[]): number =>
  STORED_SIZES.reduce(
    (sum, size) => sum + new Set(readings.map((r) => bucketStartMs(Date.parse(r.timestamp), size))).size,
    0,
  );

/** Posts one upload, retrying a 5xx as devices do (a function starting cold on a loaded machine may answer 502). */
const post = async (t: TestCloud, apiKey: string, readings: ReturnType<typeof readingsOf>) => {
  for (let attempt = 1; ; attempt++) {
    const response = await t.api('/readings', {
      method: 'POST',
      apiKey,
      json: readings.length === 1 ? readings[0] : { readings },
    });
    if (response.status === 202) return;
    if (response.status < 500 || attempt === 5)
      throw new Error(`POST /readings answered ${response.status}: ${await response.text()}`);
  }
};

/**
 * The stream mappings without a window read an upload's puts as one batch, as AWS's poll (about
 * every 250 ms) mostly does, even when a loaded machine spreads the puts tens of milliseconds
 * apart: the units measured are then the code's, not the machine's load.
 */
const UPLOAD_WRITES_SETTLE = { quietMs: 250, maxMs: 2_000 };

/** What a measurement takes: the upload scenarios always; the alerts and the schedules unless left out. */
export interface MeasureParts {
  /** False to measure the scenarios only, as the drift test, which compares nothing else, does. */
  readonly alertsAndSchedules?: boolean;
}

/**
 * Measures every scenario on fresh devices of one local cloud. The workload is small enough for a
 * test (`devices` × `uploadsPerDevice` uploads per scenario) and the units are per upload.
 */
export const measure = async (
  workload: Workload,
  { alertsAndSchedules = true }: MeasureParts = {},
): Promise<MeasuredUnits> => {
  const meter = new Meter();
  const t = await startTestCloud({ meter, retryBaseDelayMs: 50, streamWritesSettle: UPLOAD_WRITES_SETTLE });
  try {
    let scenarioIndex = 0;
    /** Registers fresh devices with one alarm and posts one (unmetered) upload from each, filling its window. */
    const freshDevices = async (batch: number) => {
      scenarioIndex += 1;
      const devices: { deviceId: string; apiKey: string }[] = [];
      for (let d = 0; d < workload.devices; d++) {
        const deviceId = `m${scenarioIndex}-${d}`;
        const apiKey = await t.registerDevice(deviceId, { alarms: [ALARM] });
        await post(
          t,
          apiKey,
          readingsOf(deviceId, Math.max(batch, DEFAULT_WINDOW), 6_000, () => 20),
        );
        devices.push({ deviceId, apiKey });
      }
      return devices;
    };
    /** Posts every device's uploads, each settled before the next; answers the stored rollup buckets they touched. */
    const uploadAll = async (
      devices: { deviceId: string; apiKey: string }[],
      batch: number,
      value: (upload: number, i: number) => number,
    ): Promise<number> => {
      let rollupBuckets = 0;
      await Promise.all(
        devices.map(async ({ deviceId, apiKey }) => {
          for (let u = 0; u < workload.uploadsPerDevice; u++) {
            const readings = readingsOf(deviceId, batch, 5_000 - u * batch, (i) => value(u, i));
            rollupBuckets += rollupBucketsOf(readings);
            await post(t, apiKey, readings);
            // Each upload settles before the next, so the stream consumers see it in a batch of its
            // own: the units do not depend on how the machine's speed happened to batch uploads
            // (a fleet's consumers batch more, so these are an upper bound for the rollups).
            await settle(t, meter);
          }
        }),
      );
      return rollupBuckets;
    };

    const scenarios: ScenarioUnits[] = [];
    for (const { batch, watchers } of SCENARIOS) {
      const devices = await freshDevices(batch);
      const sockets = await Promise.all(
        Array.from({ length: watchers }, () =>
          watch(
            t,
            devices.map((d) => d.deviceId),
          ),
        ),
      );
      await settle(t, meter);
      meter.reset();
      const rollupBuckets = await uploadAll(devices, batch, () => 20);
      const uploads = devices.length * workload.uploadsPerDevice;
      scenarios.push({
        name: `batch ${batch}, ${watchers} watcher(s) per device`,
        batch,
        watchers,
        uploads,
        rollupBuckets: rollupBuckets / uploads,
        perUpload: divide(meter.snapshot(), uploads),
      });
      for (const socket of sockets) socket.close();
    }
    if (!alertsAndSchedules)
      return {
        commit: commit(),
        deadLetters: t.cloud.stats().deadLetters,
        workload: { ...workload, metricsPerReading: METRICS_PER_READING },
        scenarios,
        perAlert: {},
        schedules: {},
      };

    // Alerts: the same uploads as the first scenario, every reading crossing the limit one way or back.
    const devices = await freshDevices(1);
    await settle(t, meter);
    meter.reset();
    await uploadAll(devices, 1, (u) => (u % 2 === 0 ? 150 : 20));
    const uploads = devices.length * workload.uploadsPerDevice;
    const alerts = devices.length * Math.floor(workload.uploadsPerDevice / 2);
    const base = scenarios[0]?.perUpload ?? {};
    const perAlert = divide(subtract(meter.snapshot(), scale(base, uploads)), Math.max(1, alerts));

    const measuredSchedules: Record<string, { devices: number; perRun: Units }> = {};
    const registered = scenarioIndex * workload.devices;
    for (const name of Object.keys(schedules) as (keyof typeof schedules)[]) {
      meter.reset();
      await t.cloud.runSchedule(name);
      await settle(t, meter);
      measuredSchedules[name] = { devices: registered, perRun: meter.snapshot() };
    }

    const { deadLetters } = t.cloud.stats();
    if (deadLetters > 0)
      console.warn(
        `${deadLetters} event(s) were dead-lettered (functions timing out on a loaded machine): the units are a little low; measure again on a quieter machine`,
      );
    return {
      commit: commit(),
      deadLetters,
      workload: { ...workload, metricsPerReading: METRICS_PER_READING },
      scenarios,
      perAlert,
      schedules: measuredSchedules,
    };
  } finally {
    await t.stop();
  }
};

/** The workload `npm run cost:measure` commits. */
export const COMMITTED_WORKLOAD: Workload = { devices: 1, uploadsPerDevice: 2 };

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const measured = await measure(COMMITTED_WORKLOAD);
  writeFileSync(MEASURED_UNITS_FILE, `${JSON.stringify(measured, null, 2)}\n`);
  console.log(`Wrote ${MEASURED_UNITS_FILE} (commit ${measured.commit})`);
}
