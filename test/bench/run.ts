/**
 * `npm run bench`: sensorbus ingest next to its two ceilings on this machine, at the same
 * concurrency, in one run — raw conditional PutItem through the edge, a bare Node HTTP server —
 * then an account of every acknowledged reading. Prints tables, then a JSON summary as the last
 * line. Each measurement is its own module; this file only composes them.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { buses } from '../../infra/topology.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import { type Accounting, accountFor, tapBus } from './accounting.ts';
import { RulesNotRestoredError, withRulesDisabled } from './consumers.ts';
import { quiesce } from './cpu.ts';
import { measureHttpCeiling } from './http-ceiling.ts';
import { type IngestResult, measureIngest } from './ingest.ts';
import type { Measurement } from './measurement.ts';
import { type BenchOptions, parseBenchOptions, USAGE } from './options.ts';
import { benchEpochMs } from './readings.ts';
import { accountingTable, count, cpuMsPerItem, percent, throughputTable } from './report.ts';
import { measureStoreCeiling } from './store-ceiling.ts';

/** The share of raw PutItem throughput that single-reading ingest should reach. */
const TARGET_RATIO = 0.4;
const BATCH_SIZES = [1, 10, 100] as const;

const started = performance.now();
const progress = (message: string) =>
  process.stderr.write(`bench [${((performance.now() - started) / 1000).toFixed(1)} s]: ${message}\n`);

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

interface BenchRun {
  readonly store: Measurement;
  readonly http: Measurement;
  readonly ingest: readonly IngestResult[];
  /** Single readings again with every rule of the telemetry bus disabled: the ingest path alone. */
  readonly alone: IngestResult | { readonly unavailable: string };
  readonly accounting: Accounting;
  /** The machine's 1-minute load average before and after: other work skews every figure. */
  readonly load: { readonly before: number; readonly after: number };
}

const runBench = async (options: BenchOptions): Promise<BenchRun> => {
  const epochMs = benchEpochMs();
  const loadBefore = loadavg()[0] ?? 0;
  const phases = `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s`;
  /** How long to let the previous target's leftovers (consumers working off events) finish. */
  const quietWaitMs = Math.min(3, Math.max(1, options.durationSeconds / 4)) * 1000;
  progress(`starting the local cloud (in memory)`);
  const t = await startTestCloud({ relayIntervalMs: 0 });
  const telemetry = tapBus(t.cloud.events, buses.telemetry.name);
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
    const aloneDevice = await register('bench-alone', 1);
    const load = {
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      epochMs,
    };

    await quiesce(quietWaitMs);
    progress(`storage ceiling: conditional PutItem via the edge, ${phases}`);
    const store = await measureStoreCeiling({ ...load, edgeUrl: t.cloud.edgeUrl, deviceId: 'bench-store' });

    await quiesce(quietWaitMs);
    progress(`HTTP ceiling: bare node:http, ${phases}`);
    const http = await measureHttpCeiling(load);

    let alone: BenchRun['alone'];
    try {
      alone = await withRulesDisabled(t.cloud.edgeUrl, buses.telemetry.name, async () => {
        await quiesce(quietWaitMs);
        progress(`ingest, single readings, every rule of the telemetry bus disabled, ${phases}`);
        return measureIngest({
          ...load,
          ...aloneDevice,
          apiUrl: t.cloud.apiUrl,
          label: 'ingest: single, consumers off',
        });
      });
    } catch (error) {
      if (error instanceof RulesNotRestoredError) throw error;
      alone = { unavailable: error instanceof Error ? error.message : String(error) };
    }

    const ingest: IngestResult[] = [];
    for (const device of devices) {
      await quiesce(quietWaitMs);
      progress(`ingest, ${device.batchSize} reading(s) per POST /readings, ${phases}`);
      ingest.push(await measureIngest({ ...load, ...device, apiUrl: t.cloud.apiUrl }));
    }

    progress('accounting for every acknowledged reading');
    const accounting = await accountFor({
      edgeUrl: t.cloud.edgeUrl,
      telemetry,
      ingest: 'unavailable' in alone ? ingest : [...ingest, alone],
      store: { deviceId: 'bench-store', storedItems: store.storedItems },
      // Acknowledged readings were stored and announced before their answer: only the requests
      // still in flight when the load stopped move the figures, so the wait is short.
      settleMs: Math.max(3, options.durationSeconds / 2) * 1000,
    });
    progress('done; stopping the local cloud');
    return {
      store: store.measurement,
      http,
      ingest,
      alone,
      accounting,
      load: { before: loadBefore, after: loadavg()[0] ?? 0 },
    };
  } finally {
    telemetry.stop();
    await t.stop();
  }
};

const report = (options: BenchOptions, run: BenchRun): number => {
  const [single, batch10, batch100] = run.ingest;
  if (!single || !batch10 || !batch100) throw new Error('an ingest measurement is missing');
  const { accounting } = run;
  const alone = 'unavailable' in run.alone ? undefined : run.alone;
  const posted = alone ? [...run.ingest, alone] : run.ingest;
  const ratio =
    run.store.itemsPerSecond > 0 ? single.measurement.itemsPerSecond / run.store.itemsPerSecond : 0;
  const non2xx = posted.reduce((sum, r) => sum + r.non2xx, 0);
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
    `concurrency C = ${options.connections}; each target ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured; ` +
      `load average ${run.load.before.toFixed(2)} before, ${run.load.after.toFixed(2)} after`,
  );
  console.log(
    'server side (local cloud, bare server) on the main thread; autocannon on a worker thread; CPU = main thread only\n',
  );
  console.log(throughputTable([run.store, run.http, ...posted.map((r) => r.measurement)]));
  console.log(
    '  CPU ms/reading: main-thread CPU time per reading (or item) in the measured span; CPU busy: that time over the span.\n' +
      '  A CPU-bound target below ~95 % busy lost the core to other processes: compare CPU ms/reading then, not rates.\n' +
      '  "consumers off": every rule of the telemetry bus disabled, so no enrichment, alert or push work shares the thread.',
  );
  if ('unavailable' in run.alone)
    console.log(`  ingest with consumers off: not measured (${run.alone.unavailable})`);
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
    `  all answers 202: ${all202 ? 'yes' : 'NO'}; non-2xx: ${count(non2xx)}; items rejected in batches: ${count(rejectedItems)}; ` +
      `answered duplicate: ${count(duplicateAnswers)}; unreadable answers: ${count(unreadable)}`,
  );

  console.log('\naccounting (warm-up included):');
  console.log(accountingTable(accounting));
  console.log(
    `  storage ceiling device ${accounting.storeCheck.deviceId}: ${count(accounting.storeCheck.expected)} puts stored, ` +
      `${count(accounting.storeCheck.stored)} items in the table${storeMismatch ? '  <-- MISMATCH' : ''}`,
  );
  if (accounting.malformedEvents > 0)
    console.log(`  ReadingRecorded events not matching their schema: ${accounting.malformedEvents}`);
  console.log(
    '  lost and duplicated count acknowledged readings, final before their answer; readings still in flight when\n' +
      '  the load stopped (stored, answer unread) may still be on their way through the bus and the outbox mark.',
  );
  console.log(`  lost = ${accounting.lost}, duplicated = ${accounting.duplicated}`);

  const storeCpu = cpuMsPerItem(run.store);
  const ingestCpu = cpuMsPerItem(single.measurement);
  const verdict = ratio >= TARGET_RATIO ? 'meets' : 'BELOW';
  console.log(
    `\ningest readings/s (single) ÷ raw PutItem items/s = ${count(single.measurement.itemsPerSecond)} ÷ ` +
      `${count(run.store.itemsPerSecond)} = ${percent(ratio)} — ${verdict} the target of ≥ ${percent(TARGET_RATIO)}`,
  );
  if (storeCpu !== undefined && ingestCpu !== undefined) {
    console.log(
      `main-thread CPU per reading: ingest (single) ${ingestCpu.toFixed(3)} ms = ${(ingestCpu / storeCpu).toFixed(1)} × ` +
        `raw PutItem (${storeCpu.toFixed(3)} ms); while the main thread is CPU-bound, that caps the ratio near ` +
        percent(storeCpu / ingestCpu),
    );
  }
  const aloneRatio =
    alone && run.store.itemsPerSecond > 0 ? alone.measurement.itemsPerSecond / run.store.itemsPerSecond : 0;
  const aloneCpu = alone ? cpuMsPerItem(alone.measurement) : undefined;
  if (alone) {
    console.log(
      `with consumers off (ingest path alone): ${count(alone.measurement.itemsPerSecond)} ÷ ${count(run.store.itemsPerSecond)} = ` +
        `${percent(aloneRatio)}${aloneCpu !== undefined ? `, ${aloneCpu.toFixed(3)} ms CPU per reading` : ''}`,
    );
  }

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
    ...(alone
      ? {
          ingestAloneReadingsPerSec: round(alone.measurement.itemsPerSecond, 1),
          ingestAloneP50Ms: round(alone.measurement.latency.p50Ms, 3),
          ingestAloneP99Ms: round(alone.measurement.latency.p99Ms, 3),
          ingestAloneToStoreRatio: round(aloneRatio, 4),
          ...(aloneCpu !== undefined ? { ingestAloneCpuMsPerReading: round(aloneCpu, 4) } : {}),
        }
      : {}),
    loadAverageBefore: round(run.load.before),
    loadAverageAfter: round(run.load.after),
    all202,
    non2xx,
    lost: accounting.lost,
    duplicated: accounting.duplicated,
  };
  console.log(JSON.stringify(summary));
  return accounting.lost > 0 || accounting.duplicated > 0 || storeMismatch ? 1 : 0;
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
  return report(options, await runBench(options));
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('bench failed:', error);
    process.exitCode = 1;
  },
);
