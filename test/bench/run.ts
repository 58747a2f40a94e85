/**
 * `npm run bench`: sensorbus ingest next to its two ceilings on this machine, at the same
 * concurrency, in one run — raw conditional PutItem through the edge, a bare Node HTTP server —
 * then readings followed end to end by WebSocket clients, the size and init time of every
 * function's bundle, and an account of every acknowledged reading and push. Prints tables, then a
 * JSON summary as the last line. Each measurement is its own module; this file only composes them.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FUNCTION_MEMORY_MB, STAGE_THROTTLE } from '../../infra/api.ts';
import { buses, tables } from '../../infra/topology.ts';
import { DEFAULT_WAITING_PER_FUNCTION } from '../../local-cloud/emulators/lambda/lambda.ts';
import { startTestCloud, waitFor } from '../support/local-cloud.ts';
import { type Accounting, accountFor, tapBus } from './accounting.ts';
import {
  type BaselineBundle,
  type Bundles,
  bundleBaseline,
  bundleFunctions,
  INIT_TARGET_RATIO,
  type InitTime,
  MAX_BUNDLE_KIB,
  measureInits,
} from './bundles.ts';
import { withRulesDisabled, withStreamConsumersPaused } from './consumers.ts';
import { quiesce } from './cpu.ts';
import { type E2eRun, measureEndToEnd, PUSHES_PER_READING } from './e2e.ts';
import { type FleetMix, MEASURED_FLEET, measuredFleetMix } from './fleet-mix.ts';
import { historyLines, runHistoryBench } from './history.ts';
import { measureHttpCeiling } from './http-ceiling.ts';
import { type IngestResult, measureIngest } from './ingest.ts';
import type { Measurement } from './measurement.ts';
import { type BenchOptions, parseBenchOptions, USAGE } from './options.ts';
import { benchEpochMs, streamEpochMs } from './readings.ts';
import {
  accountingTable,
  bundleTable,
  compositionOf,
  count,
  cpuMsPerItem,
  kib,
  ms,
  percent,
  pushTable,
  throughputTable,
} from './report.ts';
import { measureStoreCeiling } from './store-ceiling.ts';
import { watchDevices } from './watcher.ts';

/** The share of raw PutItem throughput that single-reading ingest should reach. */
const TARGET_RATIO = 0.4;
const BATCH_SIZES = [1, 10, 100] as const;
/**
 * "Proof under load" targets, as ratios to what the same run measures, since absolute milliseconds
 * differ twofold between machines of the same kind: a reading announced on the telemetry bus and
 * pushed enriched to 50 dashboards (p99, from the POST being sent) against a raw PutItem's p99;
 * every function's cold start against the baseline function's (one SDK client, one call, bundled
 * and started the same way); the whole system's readings/s, posting as the fleet does (a tenth of the
 * devices watched and streaming, the others uploading what they buffered), against raw PutItems/s. Bundle size is
 * absolute: it is the same on every machine.
 */
const TARGETS = {
  e2eRecordedP99PerStoreP99: 3,
  e2eEnrichedP99PerStoreP99: 6,
  initPerBaselineInit: INIT_TARGET_RATIO,
  bundleKiB: MAX_BUNDLE_KIB,
  systemToStoreRatio: 0.25,
} as const;

/** One target of the run: the measured value against its bound, in the JSON as in the text. */
interface TargetCheck {
  readonly name: string;
  readonly value: number | undefined;
  readonly bound: number;
  readonly kind: 'max' | 'min';
  readonly rule: string;
  readonly met: boolean;
}

const check = (
  name: string,
  value: number | undefined,
  kind: 'max' | 'min',
  bound: number,
  rule: string,
): TargetCheck => ({
  name,
  value: value === undefined ? undefined : round(value, 4),
  bound: round(bound, 4),
  kind,
  rule,
  met: value !== undefined && Number.isFinite(value) && (kind === 'max' ? value <= bound : value >= bound),
});
/** Devices posting end to end (round robin), so that no one device's workflows queue behind each other. */
const E2E_DEVICES = 4;
/**
 * The end-to-end rate is half the whole system's single-reading rate with every consumer on (a
 * latency is measured below the ceiling, not at it), at least this (readings/s)...
 */
const E2E_MIN_RATE = 5;
/**
 * ...and at most this many pushes a second (`PUSHES_PER_READING` per reading per client). Each
 * push is one PostToConnection call: the push function makes it through the SDK in a Lambda
 * environment, beside ingest and the workflow's functions, and the edge serves it on the main
 * thread. On this machine kind, quiet, with 50 clients and one push per reading: at 5, 10 and 15
 * readings/s every POST took under 55 ms at p99 and every push under 140 ms; at 20 and 25 the
 * POSTs queued for Lambda environments (p99 4 to 7 s, some answered 429) with the main thread
 * under half busy, and latency then measures the length of the run instead of the path. In full
 * bench runs 15/s, close to that knee, gave POST p99s of 240 ms quiet and 1.3 s beside other
 * work: the end-to-end run posts at 10/s (500 pushes a second), a latency below the ceiling, not
 * at it (`--e2e-rate` overrides). When every reading was pushed twice, the cap was 1,500 pushes
 * (15 readings) a second: readings, not pushes, set it.
 */
const E2E_MAX_PUSHES_PER_SEC = 500;
/**
 * The earlier targets never had a subscriber, so the push path (PostToConnection, idempotency
 * records) is cold when the end-to-end run starts: it ramps up for at least this long.
 */
const E2E_MIN_WARMUP_SECONDS = 2;
/**
 * The in-memory local cloud's `stop()` waits for every running workflow; the batches of 100 leave
 * thousands queued. Nothing persists, so after the report the bench waits at most this long.
 */
const STOP_GRACE_MS = 1000;
/**
 * V8 compiles the hot paths (SDK middleware, dynalite, the gateways) in every thread while they
 * run: through the ingest path, throughput roughly triples over its first ~6 s of load on this
 * machine kind before it levels off. The storage ceiling and the first ingest target warm up at
 * least this long (s), so that both measure steady state.
 */
const JIT_WARMUP_SECONDS = { quick: 6, full: 10 } as const;
/**
 * The end-to-end run starts once the main thread is quiet, waiting at most this long (ms): its
 * latencies are the point.
 */
const E2E_QUIET_TIMEOUT_MS = 20_000;
/**
 * Requests still being served when a target's load stops finish, and the readings stream's
 * consumers take every record they stored, within this (ms).
 */
const HANDLERS_IDLE_TIMEOUT_MS = 60_000;
/**
 * The bench measures what the ingest path can carry, not the stage's throttle (`STAGE_THROTTLE`,
 * 100 requests/s, a deployment setting): its stages are throttled at API Gateway's default account
 * quota instead, 10,000 requests/s with a burst of 5,000
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), above any rate this
 * machine reaches.
 */
const BENCH_STAGE_THROTTLE = { rateLimit: 10_000, burstLimit: 5_000 } as const;
/**
 * Nor the local Lambda runtime's queue bound. It runs a function on a few execution environments
 * (`DEFAULT_ENVIRONMENTS_PER_FUNCTION`, 4: a machine's bound, where Lambda would start one per
 * concurrent request) and lets at most `DEFAULT_WAITING_PER_FUNCTION` (8) API requests wait for
 * one, refusing the rest at once with 429. At C = 16 that refused a quarter of the requests in
 * flight, and each refused connection posted again at once: 97 % of the answers were 429s, each
 * taking the gateway's and the runtime's time from the readings being stored. The bench lets every
 * connection's request wait (`C` waiting), so the C requests in flight are all served, on the
 * machine's environments, one after another: what is measured is the readings the ingest path
 * stores a second on these cores. A request still refused (it waited past the gateway's patience)
 * is counted in the 429 column and stores nothing. Sizing the environments to C as well (16 of
 * the ingest function) was tried and kept out: main-thread CPU per single reading was no lower
 * (15.2 ms against 13.5 ms), peak resident memory rose from 762 to 960 MiB, and the batches of 100
 * answered nothing in a quick run's 3 s span behind the cold starts.
 */
const benchLambdaSettings = (connections: number) => ({
  maxWaitingPerFunction: Math.max(DEFAULT_WAITING_PER_FUNCTION, connections),
});
/** The functions that store readings (`POST /readings`) and announce them (the readings stream's consumer). */
const WRITERS = ['ingest', 'announce'] as const;
/**
 * The readings stream's consumers other than the announcer, paused with the telemetry rules while
 * the ingest path is measured: the announcer is the ingest's own outbox, the others (the rollups)
 * consume what it stored as the rules' targets consume what it announced. Running, the rollups'
 * reads and writes of two buckets an upload shared the cores with the ingest path.
 */
const CONSUMERS_OFF_THE_INGEST_PATH = (tables.readings.stream?.consumers ?? [])
  .map((consumer) => consumer.function)
  .filter((name) => !(WRITERS as readonly string[]).includes(name));
/** How long the accounting waits for the readings stream and the bus to settle (ms). */
const ACCOUNTING_SETTLE_MS = 120_000;

const started = performance.now();
const progress = (message: string) =>
  process.stderr.write(`bench [${((performance.now() - started) / 1000).toFixed(1)} s]: ${message}\n`);

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

interface BenchRun {
  readonly bundles: Bundles;
  readonly inits: readonly InitTime[];
  readonly baseline: BaselineBundle;
  readonly baselineInitMs: number | undefined;
  readonly e2e: E2eRun;
  /** Half the whole system's single-reading rate (every consumer on), and the cap the push budget sets (readings/s). */
  readonly e2eRateBasis: { readonly halfSystem: number; readonly maxRate: number };
  readonly store: Measurement;
  readonly http: Measurement;
  /**
   * The ingest path, every rule of the telemetry bus disabled and the readings stream's rollups
   * paused: POST /readings through the local
   * gateway's HTTP API route, the ingest function (its key check), conditional put (the readings
   * stream's announcer publishes after).
   * Single readings, then batches of 10 and 100.
   */
  readonly ingest: readonly IngestResult[];
  /**
   * The whole system with every consumer on (workflow, alerts, pushes) sharing the machine's
   * cores, posting as the measured fleet does (`fleet-mix.ts`): watched devices stream single
   * readings to a dashboard, the others upload what they buffered.
   */
  readonly system: IngestResult;
  readonly fleetMix: FleetMix;
  /** The worst case: single readings of one device, every consumer on (as if every device were watched, but nobody is). */
  readonly systemSingle: IngestResult;
  readonly accounting: Accounting;
  /** How long the storage ceiling and the first ingest target warmed up (s). */
  readonly jitWarmupSeconds: number;
  /** The machine's 1-minute load average before and after: other work skews every figure. */
  readonly load: { readonly before: number; readonly after: number };
}

/** The local cloud, stopped within `STOP_GRACE_MS`: what it still has to do is abandoned, not awaited. */
const stopWithin = async (stop: () => Promise<void>): Promise<void> => {
  const stopped = stop().then(
    () => true,
    (error: unknown) => {
      progress(`stopping the local cloud failed: ${error instanceof Error ? error.message : String(error)}`);
      return true;
    },
  );
  if (!(await Promise.race([stopped, sleep(STOP_GRACE_MS, false, { ref: false })])))
    progress(`the local cloud still had work after ${STOP_GRACE_MS / 1000} s; abandoned (in memory)`);
};

const runBench = async (options: BenchOptions): Promise<BenchRun> => {
  const epochMs = streamEpochMs();
  const loadBefore = loadavg()[0] ?? 0;
  const phases = `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s`;
  /** How long to let the previous target's leftovers (consumers working off events) finish. */
  const quietWaitMs = Math.min(3, Math.max(1, options.durationSeconds / 4)) * 1000;
  const jitWarmupSeconds = Math.max(
    options.warmupSeconds,
    options.quick ? JIT_WARMUP_SECONDS.quick : JIT_WARMUP_SECONDS.full,
  );
  // esbuild runs while the local cloud starts, so its threads compete with nothing measured.
  progress(
    'bundling every function as the CDK construct does (esbuild); starting the local cloud (in memory)',
  );
  const [bundleOutcome, cloudOutcome] = await Promise.allSettled([
    bundleFunctions(),
    startTestCloud({
      scheduleIntervalMs: 0,
      stageThrottle: { rest: BENCH_STAGE_THROTTLE, websocket: BENCH_STAGE_THROTTLE },
      lambda: benchLambdaSettings(options.connections),
    }),
  ]);
  if (bundleOutcome.status === 'rejected') {
    if (cloudOutcome.status === 'fulfilled') await cloudOutcome.value.stop();
    throw bundleOutcome.reason;
  }
  if (cloudOutcome.status === 'rejected') {
    bundleOutcome.value.remove();
    throw cloudOutcome.reason;
  }
  const bundles = bundleOutcome.value;
  const t = cloudOutcome.value;
  const telemetry = tapBus(t.cloud.events, buses.telemetry.name);
  /**
   * Nothing left that moves the readings table or the announcements: no ingest request served or
   * waiting, every record of the readings stream taken by its consumers and no announcer running.
   * (Workflows the consumers started may still run: they neither store nor announce readings.)
   */
  /** No invocation of these functions (every function when none are named) running or waiting. */
  const functionsIdle = (names?: readonly string[]) => {
    const pools = t.cloud.lambda.stats();
    return (names ?? Object.keys(pools)).every(
      (name) => (pools[name]?.busy ?? 0) + (pools[name]?.waiting ?? 0) === 0,
    );
  };
  const idle = () => functionsIdle(WRITERS) && t.cloud.streamConsumers.idle();
  /**
   * Nothing left of earlier work anywhere: no delivery or execution pending, no function busy or
   * waiting, the streams announced. A latency measured while the consumers still work off an
   * earlier target's backlog would be that backlog's.
   */
  const drained = () =>
    t.cloud.events.pendingCount() === 0 &&
    t.cloud.stepFunctions.pendingCount() === 0 &&
    functionsIdle() &&
    t.cloud.streamConsumers.idle();
  /**
   * Waits until what a target's load left (requests still served, stream records not yet
   * announced) is done, so it is neither measured as the next target's cost nor, with the rules
   * enabled again, handed to the consumers.
   */
  const settle = () =>
    waitFor(
      idle,
      'the handlers to finish the requests still served and the readings stream to be announced',
      HANDLERS_IDLE_TIMEOUT_MS,
    );
  try {
    const register = async (deviceId: string, batchSize: number) => {
      const apiKey = await t.registerDevice(deviceId, {
        name: `bench, ${batchSize === 1 ? 'single readings' : `batches of ${batchSize}`}`,
        metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } },
      });
      return { deviceId, apiKey, batchSize };
    };
    const devices = await Promise.all(
      BATCH_SIZES.map((batchSize) =>
        register(batchSize === 1 ? 'bench-single' : `bench-batch${batchSize}`, batchSize),
      ),
    );
    const systemDevice = await register('bench-system', 1);
    const fleetMix = measuredFleetMix(options.connections);
    // One at a time: the registrations at once would be more than the devices function lets wait.
    const fleet: Awaited<ReturnType<typeof register>>[] = [];
    for (const [kind, count, batchSize] of [
      ['watched', fleetMix.watchedDevices, fleetMix.shape.watchedUploadReadings],
      ['unwatched', fleetMix.unwatchedDevices, fleetMix.unwatchedUploadReadings],
    ] as const) {
      for (let i = 1; i <= count; i++) fleet.push(await register(`bench-fleet-${kind}-${i}`, batchSize));
    }
    const watchedFleet = fleet.slice(0, fleetMix.watchedDevices).map(({ deviceId }) => deviceId);
    const e2eDevices = await Promise.all(
      Array.from({ length: E2E_DEVICES }, async (_, i) => {
        const { deviceId, apiKey } = await register(`bench-e2e-${i + 1}`, 1);
        return { deviceId, apiKey };
      }),
    );
    const load = {
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      epochMs,
    };

    // While the local cloud is idle: the functions that read the signing key at init reach its edge.
    progress(
      `init time of ${bundles.bundles.length} bundles, ${options.initRuns} fresh node process(es) each`,
    );
    const baseline = await bundleBaseline(bundles.dir);
    const { inits, baselineInitMs } = await measureInits(
      bundles.bundles,
      baseline,
      t.cloud,
      options.initRuns,
    );

    await quiesce(quietWaitMs);
    progress(
      `storage ceiling: conditional PutItem via the edge, ${jitWarmupSeconds} s warm-up + ${options.durationSeconds} s`,
    );
    // Every item the storage ceiling puts is a reading on the readings stream, which the announcer
    // announces: with the rules on, each would start an enrichment of an unregistered device that
    // fails, thousands of workflows sharing the cores with the targets measured after it.
    const store = await withRulesDisabled(t.cloud, buses.telemetry.name, async () => {
      const measured = await measureStoreCeiling({
        ...load,
        warmupSeconds: jitWarmupSeconds,
        edge: t.cloud,
        deviceId: 'bench-store',
      });
      await settle();
      return measured;
    });

    await quiesce(quietWaitMs);
    progress(`HTTP ceiling: bare node:http, ${phases}`);
    const http = await measureHttpCeiling(load);

    // The ingest path on its own: the bus still accepts every event, but no rule matches it, and
    // the readings stream's consumers other than the announcer are paused, so no workflow, alert,
    // push or rollup shares the cores with what is measured.
    /** One ingest-path row, with the telemetry rules disabled and the rollups paused for it. */
    const ingestPath = async (device: (typeof devices)[number], warmupSeconds: number) => {
      const measured = await withRulesDisabled(t.cloud, buses.telemetry.name, () =>
        withStreamConsumersPaused(t.cloud.streamConsumers, CONSUMERS_OFF_THE_INGEST_PATH, async () => {
          await quiesce(quietWaitMs);
          progress(
            `ingest path, ${device.batchSize} reading(s) per POST /readings, telemetry rules disabled, ` +
              `${CONSUMERS_OFF_THE_INGEST_PATH.join(', ')} paused, ${warmupSeconds} s warm-up + ${options.durationSeconds} s`,
          );
          const ingested = await measureIngest({
            ...load,
            warmupSeconds,
            devices: [device],
            apiUrl: t.cloud.apiUrl,
          });
          // The load stops with requests still being served, and stored readings are announced from
          // the stream after their answer; both must be done while the rules are still disabled, or
          // the consumers would get their work.
          await settle();
          return ingested;
        }),
      );
      // The paused consumers catch up on what the row stored before anything else is measured.
      await settle();
      return measured;
    };
    const [singleDevice, ...batchDevices] = devices;
    if (!singleDevice) throw new Error('no single-reading device');
    const single = await ingestPath(singleDevice, jitWarmupSeconds);

    // The whole system's rate of single readings, every consumer on: what the end-to-end rate is half of.
    await quiesce(quietWaitMs);
    progress(`whole system, single readings of one device, every consumer on, ${phases}`);
    const systemSingle = await measureIngest({
      ...load,
      devices: [systemDevice],
      apiUrl: t.cloud.apiUrl,
      label: 'system: single, consumers on',
    });

    // End to end at half the whole system's single-reading rate (within the push budget), next,
    // while the local cloud holds few readings: the batches below store tens of thousands, and
    // collecting a heap that large would show up in the tail of every latency measured after them.
    const halfSystem = systemSingle.measurement.itemsPerSecond / 2;
    const maxRate = E2E_MAX_PUSHES_PER_SEC / (PUSHES_PER_READING * options.e2eClients);
    const ratePerSec = options.e2eRate ?? Math.max(E2E_MIN_RATE, Math.min(maxRate, halfSystem));
    const e2eRateBasis = { halfSystem, maxRate };
    // As long as the first targets' warm-up: no earlier target had a subscriber, so the push path
    // and the workflow's environments compile and start in it, not in the measured span.
    const e2eWarmupSeconds = Math.max(E2E_MIN_WARMUP_SECONDS, jitWarmupSeconds);
    // The whole system's row left workflows, alerts and pushes behind: they finish first.
    await waitFor(
      drained,
      'every delivery, execution and function of the earlier targets to finish',
      HANDLERS_IDLE_TIMEOUT_MS,
    );
    if (!(await quiesce(E2E_QUIET_TIMEOUT_MS, 0.1)))
      progress(`the local cloud was still busy after ${E2E_QUIET_TIMEOUT_MS / 1000} s; measuring anyway`);
    progress(
      `end to end: ${options.e2eClients} WebSocket clients, ${ratePerSec.toFixed(1)} readings/s, ` +
        `${e2eWarmupSeconds} s ramp + ${options.e2eSeconds} s, drain ≤ ${options.e2eDrainSeconds} s`,
    );
    const e2e = await measureEndToEnd(
      {
        apiUrl: t.cloud.apiUrl,
        wsUrl: t.cloud.wsUrl,
        viewerToken: await t.viewerToken(e2eDevices.map((d) => d.deviceId)),
        devices: e2eDevices,
        clients: options.e2eClients,
        ratePerSec,
        warmupSeconds: e2eWarmupSeconds,
        durationSeconds: options.e2eSeconds,
        drainSeconds: options.e2eDrainSeconds,
        // Its devices are watched (one item a reading): a day ago, a millisecond apart, as before.
        epochMs: benchEpochMs(),
      },
      telemetry,
    );

    const ingest: IngestResult[] = [single];
    for (const device of batchDevices) ingest.push(await ingestPath(device, options.warmupSeconds));

    await quiesce(quietWaitMs);
    progress(
      `whole system, the fleet's mix (${fleetMix.watchedDevices} watched devices streaming, ` +
        `${fleetMix.unwatchedDevices} uploading ${fleetMix.unwatchedUploadReadings} readings), every consumer on, ${phases}`,
    );
    const watcher = await watchDevices(t.cloud.wsUrl, await t.viewerToken(watchedFleet), watchedFleet);
    let system: IngestResult;
    try {
      system = await measureIngest({
        ...load,
        devices: fleet,
        apiUrl: t.cloud.apiUrl,
        label: 'system: fleet mix, consumers on',
      });
    } finally {
      await watcher.close();
    }
    const { acceptedTimestamps } = e2e;
    const e2eIngest = e2eDevices.map(({ deviceId }) => ({
      deviceId,
      acceptedTimestamps: acceptedTimestamps[deviceId] ?? [],
    }));

    progress('accounting for every acknowledged reading');
    const accounting = await accountFor({
      edge: t.cloud,
      telemetry,
      ingest: [...[...ingest, systemSingle, system].flatMap((row) => row.accepted), ...e2eIngest],
      store: { deviceId: 'bench-store', storedItems: store.storedItems },
      // Readings are announced from the readings stream after their answer: the account is taken
      // once the stream is drained and no function runs, then again until two accounts agree.
      idle,
      settleMs: ACCOUNTING_SETTLE_MS,
    });
    progress('done; stopping the local cloud');
    return {
      bundles,
      inits,
      baseline,
      baselineInitMs,
      e2e,
      e2eRateBasis,
      store: store.measurement,
      http,
      ingest,
      system,
      fleetMix,
      systemSingle,
      accounting,
      jitWarmupSeconds,
      load: { before: loadBefore, after: loadavg()[0] ?? 0 },
    };
  } finally {
    telemetry.stop();
    bundles.remove();
    await stopWithin(() => t.stop());
  }
};

const report = (options: BenchOptions, run: BenchRun): number => {
  const [single, batch10, batch100] = run.ingest;
  if (!single || !batch10 || !batch100) throw new Error('an ingest measurement is missing');
  const { accounting } = run;
  const { system, systemSingle, fleetMix } = run;
  const posted = [...run.ingest, systemSingle, system];
  const ratio =
    run.store.itemsPerSecond > 0 ? single.measurement.itemsPerSecond / run.store.itemsPerSecond : 0;
  const non2xx = posted.reduce((sum, r) => sum + r.non2xx, 0);
  const throttled = posted.reduce((sum, r) => sum + (r.statusCounts['429'] ?? 0), 0);
  const all202 = posted.every((r) => Object.keys(r.statusCounts).every((status) => status === '202'));
  const duplicateAnswers = posted.reduce((sum, r) => sum + r.duplicateAnswers, 0);
  const rejectedItems = posted.reduce((sum, r) => sum + r.rejectedItems, 0);
  const unreadable = posted.reduce((sum, r) => sum + r.unreadableAnswers, 0);
  const storeMismatch = accounting.storeCheck.expected !== accounting.storeCheck.stored;

  const cpu = cpus();
  console.log(
    `\nsensorbus bench — ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
  );
  console.log(
    `concurrency C = ${options.connections}; each target ${options.warmupSeconds} s warm-up (the storage ceiling and the first ingest ` +
      `target ${run.jitWarmupSeconds} s, for V8 to compile the hot paths), then ${options.durationSeconds} s measured; ` +
      `load average ${run.load.before.toFixed(2)} before, ${run.load.after.toFixed(2)} after`,
  );
  console.log(
    'local cloud services (gateways, edge, dynalite, EventBridge, Step Functions) on the main thread, handlers in ' +
      'the Lambda worker thread; autocannon on a worker thread; CPU = main thread only; both stages throttled at ' +
      `${count(BENCH_STAGE_THROTTLE.rateLimit)} requests/s, burst ${count(BENCH_STAGE_THROTTLE.burstLimit)} (API Gateway's ` +
      `account default) in place of the deployed stage's ${STAGE_THROTTLE.rest.rateLimit}/s, and every request in flight may wait for ` +
      `one of the local Lambda runtime's environments of its function (${count(benchLambdaSettings(options.connections).maxWaitingPerFunction)} ` +
      'waiting, not refused with 429 past 8), so the ingest path is measured, not a throttle\n',
  );
  console.log(throughputTable([run.store, run.http, ...posted.map((r) => r.measurement)]));
  console.log(
    '  CPU ms/reading: main-thread CPU time per reading (or item) in the measured span; CPU busy: that time over the span.\n' +
      '  A CPU-bound target below ~95 % busy lost the core to other processes: compare CPU ms/reading then, not rates.\n' +
      '  "ingest path": every rule of the telemetry bus disabled and the readings stream\'s rollups paused; events are\n' +
      '  still put on the bus, but no workflow, alert, push or rollup shares the cores. "system": the same posts with every\n' +
      '  consumer on, on the same two cores.\n' +
      '  readings/s of a POST /readings target: readings answered 202 as new (so stored; the accounting below checks\n' +
      '  each in the table) a second of the measured span; latencies are of those 2xx answers. A 429 stores nothing.',
  );
  for (const r of posted.filter((r) => r.measurement.requests === 0)) {
    console.log(`  ${r.measurement.label}: no answer arrived within the measured span; lengthen --duration`);
  }
  console.log('\nstatus codes (every answer read, warm-up included):');
  for (const r of posted) {
    const codes = Object.entries(r.statusCounts)
      .map(([status, n]) => `${status} × ${count(n)}`)
      .join(', ');
    console.log(`  ${r.measurement.label}: ${codes || 'none'}`);
  }
  console.log(
    `  all answers 202: ${all202 ? 'yes' : 'NO'}; non-2xx: ${count(non2xx)}, of which 429: ${count(throttled)}; items rejected in batches: ${count(rejectedItems)}; ` +
      `answered duplicate: ${count(duplicateAnswers)}; unreadable answers: ${count(unreadable)}`,
  );

  console.log(
    `\naccounting, in readings (warm-up included; hour items flattened as the readers do, announcements counted by readingId ` +
      `across ReadingRecorded events), taken ${accounting.settled ? 'once' : 'NOT SETTLED:'} the ingest and announce functions were idle, ` +
      `the readings stream drained and two accounts agreed, ${(accounting.settleWaitMs / 1000).toFixed(1)} s after the load` +
      `${accounting.settled ? '' : ` (gave up after ${ACCOUNTING_SETTLE_MS / 1000} s: a loss may be a delay)`}:`,
  );
  console.log(accountingTable(accounting));
  console.log(
    `  storage ceiling device ${accounting.storeCheck.deviceId}: ${count(accounting.storeCheck.expected)} puts stored, ` +
      `${count(accounting.storeCheck.stored)} items in the table${storeMismatch ? '  <-- MISMATCH' : ''}`,
  );
  if (accounting.malformedEvents > 0)
    console.log(`  ReadingRecorded events not matching their schema: ${accounting.malformedEvents}`);
  const repeatedEvents = accounting.devices.reduce((sum, d) => sum + d.repeatedEvents, 0);
  console.log(
    '  lost: acknowledged readings not both in the table and announced; duplicated: a reading announced again (by any\n' +
      `  event; ${count(repeatedEvents)} of them deliveries again of the same eventId) or stored twice; stored, unannounced: any stored\n` +
      '  reading, acknowledged or not, no ReadingRecorded carried (the outbox must announce every one).',
  );
  console.log(
    `  lost = ${accounting.lost}, duplicated = ${accounting.duplicated}, stored but unannounced = ${accounting.unannounced}`,
  );

  const storeCpu = cpuMsPerItem(run.store);
  const ingestCpu = cpuMsPerItem(single.measurement);
  const verdict = ratio >= TARGET_RATIO ? 'meets' : 'BELOW';
  console.log(
    `\ningest path readings/s (single) ÷ raw PutItem items/s = ${count(single.measurement.itemsPerSecond)} ÷ ` +
      `${count(run.store.itemsPerSecond)} = ${percent(ratio)} — ${verdict} the target of ≥ ${percent(TARGET_RATIO)}`,
  );
  if (storeCpu !== undefined && ingestCpu !== undefined) {
    console.log(
      `main-thread CPU per reading: ingest path (single) ${ingestCpu.toFixed(3)} ms = ${(ingestCpu / storeCpu).toFixed(1)} × ` +
        `raw PutItem (${storeCpu.toFixed(3)} ms)`,
    );
  }
  const toStore = (row: IngestResult) =>
    run.store.itemsPerSecond > 0 ? row.measurement.itemsPerSecond / run.store.itemsPerSecond : 0;
  const systemRatio = toStore(system);
  const systemSingleRatio = toStore(systemSingle);
  const systemCpu = cpuMsPerItem(system.measurement);
  const { shape } = fleetMix;
  console.log(
    `whole system (every consumer on the same cores), posting as the fleet npm run cost prices by default ` +
      `(${count(MEASURED_FLEET.devices)} devices every ${MEASURED_FLEET.intervalSeconds} s, ${percent(shape.watchedFraction)} watched): ` +
      `${fleetMix.watchedDevices} watched devices stream single readings to a dashboard, ${fleetMix.unwatchedDevices} ` +
      `others upload ${fleetMix.unwatchedUploadReadings} readings at a time, each device once a cycle (the fleet's mix of uploads): ` +
      `${count(system.measurement.itemsPerSecond)} ÷ ${count(run.store.itemsPerSecond)} = ${percent(systemRatio)}` +
      `${systemCpu !== undefined ? `, ${systemCpu.toFixed(3)} ms main-thread CPU per reading` : ''}; ` +
      `the worst case, single readings of one device with every consumer on (no dashboard follows it): ` +
      `${count(systemSingle.measurement.itemsPerSecond)} ÷ ${count(run.store.itemsPerSecond)} = ${percent(systemSingleRatio)}`,
  );

  const { e2e } = run;
  const e2eCpu =
    e2e.mainCpuMs !== undefined && e2e.measuredPosted > 0 ? e2e.mainCpuMs / e2e.measuredPosted : undefined;
  const meets = (ok: boolean) => (ok ? 'meets' : 'MISSES');
  const storeP99 = run.store.latency.p99Ms;
  const { halfSystem, maxRate } = run.e2eRateBasis;
  const rateReason =
    options.e2eRate !== undefined
      ? '--e2e-rate'
      : halfSystem > maxRate
        ? `half the whole system's single-reading rate is ${halfSystem.toFixed(1)}; capped at ${count(E2E_MAX_PUSHES_PER_SEC)} pushes/s = ${PUSHES_PER_READING} × ${options.e2eClients} clients × ${maxRate.toFixed(1)}/s`
        : halfSystem < E2E_MIN_RATE
          ? `half the whole system's single-reading rate is ${halfSystem.toFixed(1)}; at least ${E2E_MIN_RATE}`
          : "half the whole system's single-reading rate";
  console.log(
    `\nend to end: ${e2e.spec.clients} WebSocket clients (one viewer token) subscribed to ${e2e.spec.deviceIds.length} devices; ` +
      `${e2e.spec.ratePerSec.toFixed(1)} readings/s targeted (${rateReason}), ` +
      `${e2e.achievedRatePerSec.toFixed(1)} held; ${e2e.spec.warmupSeconds} s warm-up ramping up to it + ${e2e.spec.durationSeconds} s measured; ` +
      `clients connected and subscribed in ${ms(e2e.connectMs)} ms`,
  );
  console.log(
    `  POST /readings answers: p50 ${ms(e2e.postLatency.p50Ms)} ms, p99 ${ms(e2e.postLatency.p99Ms)} ms; ` +
      `${count(e2e.accepted)} of ${count(e2e.posted)} accepted, ${count(e2e.failedPosts)} failed; ` +
      `${count(e2e.throttledPosts)} of the ${count(e2e.measuredPosted)} measured posts throttled (429, ` +
      `${count(e2e.throttledAnswers)} times in all), each then posted again after its Retry-After, which the timings include` +
      `${e2e.stalls > 0 ? `, sender waited ${count(e2e.stalls)} times on ${count(256)} unanswered posts` : ''}; ` +
      `every push in ${ms(e2e.drainMs)} ms after the last post (drain limit ${e2e.spec.drainSeconds} s)`,
  );
  for (const error of e2e.postErrors) console.log(`  failed post: ${error}`);
  const e2eShare =
    e2e.mainCpuMs !== undefined ? e2e.mainCpuMs / (e2e.spec.durationSeconds * 1000) : undefined;
  if (e2eShare !== undefined && e2eCpu !== undefined) {
    console.log(
      `  local cloud (main thread) CPU busy ${percent(e2eShare)} in the measured span, ${e2eCpu.toFixed(1)} ms CPU per reading ` +
        `(ingest, workflow, ${PUSHES_PER_READING} × ${e2e.spec.clients} PostToConnection); near 100 % the pushes queue and latency grows with the run`,
    );
  }
  console.log(pushTable(e2e));
  console.log(
    `  of which after the 202 was read (the readings stream, the announce function, the bus): ReadingRecorded ` +
      `p50 ${ms(e2e.recorded.afterAnswer.p50Ms)} ms, p99 ${ms(e2e.recorded.afterAnswer.p99Ms)} ms`,
  );
  if (e2e.unexpectedPushes > 0)
    console.log(
      `  pushes for readings this run did not post, off the ReadingEnriched schema, ReadingRecorded (no longer pushed), or unreadable: ${count(e2e.unexpectedPushes)}`,
    );
  // A reading missing from the bus is the accounting's (it reads the same tap), so not added again.
  const e2eLost = e2e.enriched.lost;
  const e2eDuplicated = e2e.enriched.duplicated;
  console.log(
    `  ReadingRecorded on the bus p99 ${ms(e2e.recorded.latency.p99Ms)} ms = ${(e2e.recorded.latency.p99Ms / storeP99).toFixed(2)} × a raw PutItem's p99 (${ms(storeP99)} ms) — ${meets(e2e.recorded.latency.p99Ms <= TARGETS.e2eRecordedP99PerStoreP99 * storeP99)} the target of ≤ ${TARGETS.e2eRecordedP99PerStoreP99} ×\n` +
      `  ReadingEnriched pushed p99 ${ms(e2e.enriched.latency.p99Ms)} ms = ${(e2e.enriched.latency.p99Ms / storeP99).toFixed(2)} × a raw PutItem's p99 — ${meets(e2e.enriched.latency.p99Ms <= TARGETS.e2eEnrichedP99PerStoreP99 * storeP99)} the target of ≤ ${TARGETS.e2eEnrichedP99PerStoreP99} ×\n` +
      `  pushes lost = ${e2eLost} (not read by the end of the drain), duplicated = ${e2eDuplicated} (another eventId for a reading ` +
      `a client had); both counted in the totals below; repeats of an eventId (dropped by dashboards) = ${e2e.enriched.repeated}, not counted`,
  );

  const { bundles } = run.bundles;
  const largest = [...bundles].sort((a, b) => b.bytes - a.bytes)[0];
  const measuredInits = run.inits.filter((i) => i.medianMs !== undefined);
  const failedInits = run.inits.filter((i) => i.medianMs === undefined);
  const slowest = [...measuredInits].sort((a, b) => (b.medianMs ?? 0) - (a.medianMs ?? 0))[0];
  const overSize = bundles.filter((b) => kib(b.bytes) > TARGETS.bundleKiB);
  const { baselineInitMs } = run;
  const initBound =
    baselineInitMs === undefined ? Number.POSITIVE_INFINITY : TARGETS.initPerBaselineInit * baselineInitMs;
  const overInit = measuredInits.filter((i) => (i.medianMs ?? 0) > initBound);
  console.log(
    `\nfunction bundles: esbuild ${'as infra/aws/sensorbus-function.ts configures it'} (ESM, minified, tree-shaken, the AWS SDK bundled ` +
      'with the environment credentials Lambda provides in place of its default chain, node22); ' +
      `init = import() of the bundle in a fresh node ${process.version} (Lambda runs Node 22) with the function's environment; ` +
      `median of ${options.initRuns} run(s)`,
  );
  console.log(
    `  baseline function (${run.baseline.entry}: one SDK client, one call), ${kib(run.baseline.bytes).toFixed(1)} KiB: ` +
      `init ${baselineInitMs === undefined ? 'FAILED' : `${ms(baselineInitMs)} ms`} (median of ${options.initRuns * bundles.length} runs, ` +
      `one started right before each function's); each function's init is held to ` +
      `≤ ${TARGETS.initPerBaselineInit} × that = ${ms(initBound)} ms`,
  );
  console.log(bundleTable(bundles, run.inits, { kib: TARGETS.bundleKiB, initMs: round(initBound, 1) }));
  for (const failed of failedInits)
    console.log(`  ${failed.name} did not load: ${failed.error ?? 'unknown error'}`);
  if (largest) {
    const { packages, files } = compositionOf(largest);
    console.log(`  largest bundle, ${largest.name} (${kib(largest.bytes).toFixed(1)} KiB), by package:`);
    console.log(packages.replace(/^/gm, '    '));
    console.log('  and its largest inputs:');
    console.log(files.replace(/^/gm, '    '));
  }
  console.log(
    `  every bundle ≤ ${TARGETS.bundleKiB} KiB: ${overSize.length === 0 ? 'meets' : `MISSES (${overSize.length} of ${bundles.length} over; largest ${largest ? kib(largest.bytes).toFixed(1) : '—'} KiB)`}\n` +
      `  every init ≤ ${TARGETS.initPerBaselineInit} × the baseline's (${ms(initBound)} ms): ${overInit.length === 0 && failedInits.length === 0 ? 'meets' : `MISSES (${overInit.length} of ${run.inits.length} over${failedInits.length > 0 ? `, ${failedInits.length} did not load` : ''}; slowest ${slowest ? `${slowest.name} ${ms(slowest.medianMs ?? 0)} ms` : '—'})`}`,
  );

  console.log(
    `\nmemory: this process (the local cloud with its Lambda thread, the load generators, ${options.e2eClients} WebSocket ` +
      `clients) peaked at ${count(process.resourceUsage().maxRSS / 1024)} MiB resident; "heap MiB" above is each ` +
      `function's JavaScript heap after init (after a full GC), against its ${FUNCTION_MEMORY_MB} MB`,
  );

  const targets: TargetCheck[] = [
    check(
      'e2eRecordedP99Ms / storeP99Ms',
      e2e.recorded.latency.p99Ms / storeP99,
      'max',
      TARGETS.e2eRecordedP99PerStoreP99,
      `ReadingRecorded on the bus, p99, ≤ ${TARGETS.e2eRecordedP99PerStoreP99} × a raw PutItem's p99`,
    ),
    check(
      'e2eEnrichedP99Ms / storeP99Ms',
      e2e.enriched.latency.p99Ms / storeP99,
      'max',
      TARGETS.e2eEnrichedP99PerStoreP99,
      `ReadingEnriched pushed, p99, ≤ ${TARGETS.e2eEnrichedP99PerStoreP99} × a raw PutItem's p99`,
    ),
    ...run.inits.map((init) =>
      check(
        `initMs.${init.name} / baselineInitMs`,
        init.medianMs !== undefined && baselineInitMs !== undefined
          ? init.medianMs / baselineInitMs
          : undefined,
        'max',
        TARGETS.initPerBaselineInit,
        `init ≤ ${TARGETS.initPerBaselineInit} × the baseline function's`,
      ),
    ),
    ...bundles.map((bundle) =>
      check(
        `bundleKiB.${bundle.name}`,
        kib(bundle.bytes),
        'max',
        TARGETS.bundleKiB,
        `≤ ${TARGETS.bundleKiB} KiB`,
      ),
    ),
    check(
      'systemToStoreRatio',
      systemRatio,
      'min',
      TARGETS.systemToStoreRatio,
      `the whole system's readings/s ≥ ${TARGETS.systemToStoreRatio} × raw PutItems/s`,
    ),
  ];
  console.log('\ntargets (ratios measured in this run):');
  for (const t of targets)
    console.log(
      `  ${t.met ? 'met  ' : 'UNMET'}  ${t.name} = ${t.value === undefined ? '—' : t.value} (${t.kind === 'max' ? '≤' : '≥'} ${t.bound}): ${t.rule}`,
    );

  const lost = accounting.lost + e2eLost;
  const duplicated = accounting.duplicated + e2eDuplicated;
  const summary = {
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    ingestReadingsPerSec: round(single.measurement.itemsPerSecond, 1),
    ingestBatch10ReadingsPerSec: round(batch10.measurement.itemsPerSecond, 1),
    ingestBatch100ReadingsPerSec: round(batch100.measurement.itemsPerSecond, 1),
    ingestP50Ms: round(single.measurement.latency.p50Ms, 3),
    ingestP99Ms: round(single.measurement.latency.p99Ms, 3),
    ingestBatch10P50Ms: round(batch10.measurement.latency.p50Ms, 3),
    ingestBatch10P99Ms: round(batch10.measurement.latency.p99Ms, 3),
    ingestBatch100P50Ms: round(batch100.measurement.latency.p50Ms, 3),
    ingestBatch100P99Ms: round(batch100.measurement.latency.p99Ms, 3),
    baselineHttpPerSec: round(run.http.requestsPerSecond, 1),
    baselineHttpP50Ms: round(run.http.latency.p50Ms, 3),
    baselineHttpP99Ms: round(run.http.latency.p99Ms, 3),
    storePutPerSec: round(run.store.itemsPerSecond, 1),
    storeP50Ms: round(run.store.latency.p50Ms, 3),
    storeP99Ms: round(run.store.latency.p99Ms, 3),
    ingestToStoreRatio: round(ratio, 4),
    ingestToStoreTarget: TARGET_RATIO,
    ...(storeCpu !== undefined ? { storeCpuMsPerPut: round(storeCpu, 4) } : {}),
    ...(ingestCpu !== undefined ? { ingestCpuMsPerReading: round(ingestCpu, 4) } : {}),
    systemReadingsPerSec: round(system.measurement.itemsPerSecond, 1),
    systemP50Ms: round(system.measurement.latency.p50Ms, 3),
    systemP99Ms: round(system.measurement.latency.p99Ms, 3),
    systemToStoreRatio: round(systemRatio, 4),
    systemMix: {
      watchedDevices: fleetMix.watchedDevices,
      unwatchedDevices: fleetMix.unwatchedDevices,
      unwatchedUploadReadings: fleetMix.unwatchedUploadReadings,
      watchedFraction: shape.watchedFraction,
    },
    systemSingleReadingsPerSec: round(systemSingle.measurement.itemsPerSecond, 1),
    systemSingleToStoreRatio: round(systemSingleRatio, 4),
    systemToStoreTarget: TARGETS.systemToStoreRatio,
    ...(systemCpu !== undefined ? { systemCpuMsPerReading: round(systemCpu, 4) } : {}),
    loadAverageBefore: round(run.load.before),
    loadAverageAfter: round(run.load.after),
    all202,
    non2xx,
    throttled429: throttled,
    lost,
    duplicated,
    unannounced: accounting.unannounced,
    accountingSettled: accounting.settled,
    e2eRecordedP50Ms: round(e2e.recorded.latency.p50Ms, 3),
    e2eRecordedP95Ms: round(e2e.recorded.latency.p95Ms, 3),
    e2eRecordedP99Ms: round(e2e.recorded.latency.p99Ms, 3),
    e2eRecordedAfterAnswerP50Ms: round(e2e.recorded.afterAnswer.p50Ms, 3),
    e2eRecordedAfterAnswerP99Ms: round(e2e.recorded.afterAnswer.p99Ms, 3),
    e2eEnrichedP50Ms: round(e2e.enriched.latency.p50Ms, 3),
    e2eEnrichedP95Ms: round(e2e.enriched.latency.p95Ms, 3),
    e2eEnrichedP99Ms: round(e2e.enriched.latency.p99Ms, 3),
    e2eRatePerSec: round(e2e.spec.ratePerSec, 1),
    e2eHalfSystemRatePerSec: round(halfSystem, 1),
    e2eAchievedRatePerSec: round(e2e.achievedRatePerSec, 1),
    e2eClients: e2e.spec.clients,
    e2ePostP99Ms: round(e2e.postLatency.p99Ms, 3),
    e2eThrottledPosts: e2e.throttledPosts,
    ...(e2eCpu !== undefined ? { e2eCpuMsPerReading: round(e2eCpu, 2) } : {}),
    e2eLost,
    e2eDuplicated,
    e2eRepeatedPushes: e2e.enriched.repeated,
    e2eRecordedMissing: e2e.recorded.missing,
    largestBundleKiB: round(largest ? kib(largest.bytes) : 0, 1),
    slowestInitMs: round(slowest?.medianMs ?? 0, 1),
    largestInitHeapMiB: round(Math.max(0, ...run.inits.map((i) => i.heapUsedBytes ?? 0)) / 1024 / 1024, 1),
    peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 0),
    initFailures: failedInits.length,
    bundleKiB: Object.fromEntries(bundles.map((b) => [b.name, round(kib(b.bytes), 1)])),
    initMs: Object.fromEntries(measuredInits.map((i) => [i.name, round(i.medianMs ?? 0, 1)])),
    ...(baselineInitMs !== undefined ? { baselineInitMs: round(baselineInitMs, 1) } : {}),
    baselineBundleKiB: round(kib(run.baseline.bytes), 1),
    targets,
    targetsMet: targets.every((t) => t.met),
  };
  console.log(JSON.stringify(summary));
  return lost > 0 || duplicated > 0 || accounting.unannounced > 0 || storeMismatch || failedInits.length > 0
    ? 1
    : 0;
};

const main = async (): Promise<number> => {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    console.error(USAGE);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  // Read by the handlers' logger and the SDK when the local cloud loads them, so set first.
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const run = await runBench(options);
  const history = await runHistoryBench({ quick: options.quick, progress: (line) => console.error(line) });
  for (const line of historyLines(history)) console.log(line);
  return report(options, run);
};

/** Exits once stdout has taken the report: the local cloud may still hold work it was not waited for. */
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

main().then(exit, (error: unknown) => {
  console.error('bench failed:', error);
  exit(1);
});
