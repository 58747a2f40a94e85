import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { cpuWindow } from './cpu.ts';
import { type Measurement, measurement } from './measurement.ts';
import { DeviceStream } from './readings.ts';

/** One HTTP target loaded by autocannon: warm-up first, then the measured span. */
export const LoadSpec = z.object({
  url: z.url(),
  headers: z.record(z.string(), z.string()),
  connections: z.number().int().positive(),
  warmupSeconds: z.number().positive(),
  durationSeconds: z.number().positive(),
  /** The devices posting: requests go to them in turn. */
  streams: z.array(DeviceStream).min(1),
  /** Read each answer as a sensorbus ingest answer and keep the timestamps it accepted. */
  readIngestAnswers: z.boolean(),
});
export type LoadSpec = z.infer<typeof LoadSpec>;

const Latency = z.object({ p50Ms: z.number(), p99Ms: z.number(), meanMs: z.number(), maxMs: z.number() });

const PhaseResult = z.object({
  seconds: z.number(),
  responses: z.number().int(),
  statusCounts: z.record(z.string(), z.number().int()),
  non2xx: z.number().int(),
  /** Connection errors and timeouts; autocannon counts them for the whole run, so 0 in the warm-up. */
  errors: z.number().int(),
  timeouts: z.number().int(),
  /** Of the 2xx answers only: a refused request (a 429 is answered at once) did none of the work measured. */
  latency: Latency,
  /** Readings the answers of this phase accepted (ingest), else readings carried by 2xx answers. */
  acceptedReadings: z.number().int(),
});
export type PhaseResult = z.infer<typeof PhaseResult>;

export const LoadResult = z.object({
  warmup: PhaseResult,
  measured: PhaseResult,
  /** Status codes of every answer read, warm-up and answers after the measured span included. */
  statusCounts: z.record(z.string(), z.number().int()),
  /** Timestamps of every reading answered `202 duplicate: false`, warm-up included, by device. */
  acceptedTimestamps: z.record(z.string(), z.array(z.string())),
  /** Readings answered `duplicate: true`; every body is new, so anything but 0 is a fault. */
  duplicateAnswers: z.number().int(),
  /** Batch items answered 400 or 503. */
  rejectedItems: z.number().int(),
  /** 2xx answers whose body was not a sensorbus ingest answer. */
  unreadableAnswers: z.number().int(),
});
export type LoadResult = z.infer<typeof LoadResult>;

/** What the worker tells: when the measured span starts and ends, then the result. */
const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('measure'), edge: z.enum(['start', 'end']) }),
  z.object({ type: z.literal('result'), result: LoadResult }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;

export interface LoadRun extends LoadResult {
  /** CPU time of this (the main) thread during the measured span. */
  readonly mainCpuMs: number | undefined;
}

/**
 * Starts a worker thread on a TypeScript module. Node 20 does not apply tsx's `--import` hooks to a
 * worker's entry module, so the worker is bootstrapped through tsx's API.
 */
export const startTsWorker = (entry: URL, workerData: unknown): Worker => {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
    workerData,
    execArgv: [],
  });
};

/**
 * Runs autocannon in a worker thread, so that the load generator has its own core and the server
 * under test (the local cloud, on the main thread) keeps the other: on this 2-core machine an
 * in-process client would otherwise steal the server's event loop.
 */
export const runLoad = async (spec: LoadSpec): Promise<LoadRun> => {
  const worker = startTsWorker(new URL('./load-worker.ts', import.meta.url), LoadSpec.parse(spec));
  const limitMs = (spec.warmupSeconds + spec.durationSeconds + 60) * 1000;
  const cpu = cpuWindow();
  try {
    return await new Promise<LoadRun>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`load on ${spec.url} did not finish within ${limitMs} ms`)),
        limitMs,
      );
      worker.on('message', (raw: unknown) => {
        const message = WorkerMessage.safeParse(raw);
        if (!message.success) {
          clearTimeout(timer);
          reject(new Error(`load worker sent an unexpected message: ${message.error.message}`));
        } else if (message.data.type === 'measure') {
          if (message.data.edge === 'start') cpu.start();
          else cpu.stop();
        } else {
          clearTimeout(timer);
          cpu.stop();
          resolve({ ...message.data.result, mainCpuMs: cpu.cpuMs });
        }
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`load worker exited with code ${code} before answering`));
      });
    });
  } finally {
    await worker.terminate();
  }
};

/** One row of the throughput table from a load run's measured span. */
export const measurementOf = (label: string, run: LoadRun): Measurement =>
  measurement({
    label,
    durationSeconds: run.measured.seconds,
    requests: run.measured.responses,
    items: run.measured.acceptedReadings,
    latency: run.measured.latency,
    failures: run.measured.non2xx,
    throttled: run.measured.statusCounts['429'] ?? 0,
    errors: run.measured.errors,
    mainCpuMs: run.mainCpuMs,
  });
