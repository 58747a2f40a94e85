/**
 * The load generator's thread (started by `runLoad`): autocannon POSTs a fresh body on every
 * request, built by `setupRequest` from the reading stream of the device whose turn it is, and
 * reads every answer.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { z } from 'zod';
import { LoadSpec, type PhaseResult, type WorkerMessage } from './load.ts';
import { latencyOf, recordMs } from './measurement.ts';
import { bodyAt } from './readings.ts';

/** A hard cap on the requests of one run, on top of its duration. */
const MAX_REQUESTS = 5_000_000;
/**
 * How long a request may take before autocannon gives up on it: API Gateway's own integration
 * limit (29 s), since batches of 100 at C = 16 take seconds here and would otherwise be cut off.
 */
const TIMEOUT_SECONDS = 30;

const SingleAnswer = z.object({ timestamp: z.string(), duplicate: z.boolean() });
const BatchAnswer = z.object({
  results: z.array(
    z.object({ status: z.number(), timestamp: z.string().optional(), duplicate: z.boolean().optional() }),
  ),
});

interface Phase {
  readonly histogram: RecordableHistogram;
  readonly statusCounts: Map<number, number>;
  responses: number;
  accepted: number;
}

const port = parentPort;
if (!port) throw new Error('load-worker.ts runs in a worker thread started by runLoad');
const spec = LoadSpec.parse(workerData);
/** Each device's next free reading; the devices take turns. */
const devices = spec.streams.map((stream) => ({ stream, nextIndex: stream.firstIndex }));
type Device = (typeof devices)[number];
let turn = 0;

const statusCounts = new Map<number, number>();
const acceptedTimestamps: Record<string, string[]> = {};
let duplicateAnswers = 0;
let rejectedItems = 0;
let unreadableAnswers = 0;

/** The next upload: which device posts it, and its body. */
const nextUpload = (): { device: Device; body: string } => {
  const device = devices[turn++ % devices.length] as Device;
  const body = bodyAt(device.stream, device.nextIndex);
  device.nextIndex += device.stream.batchSize;
  return { device, body };
};

/** `phase` is undefined for answers read after the measured span: they are still accounted for. */
const accept = (phase: Phase | undefined, device: Device, timestamp: string, duplicate: boolean): void => {
  if (duplicate) {
    duplicateAnswers++;
    return;
  }
  const accepted = acceptedTimestamps[device.stream.deviceId] ?? [];
  accepted.push(timestamp);
  acceptedTimestamps[device.stream.deviceId] = accepted;
  if (phase) phase.accepted++;
};

const readAnswer = (phase: Phase | undefined, device: Device, status: number, body: string): void => {
  if (status < 200 || status >= 300) return;
  if (!spec.readIngestAnswers) {
    if (phase) phase.accepted += device.stream.batchSize;
    return;
  }
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    unreadableAnswers++;
    return;
  }
  if (device.stream.batchSize === 1) {
    const single = SingleAnswer.safeParse(answer);
    if (single.success) accept(phase, device, single.data.timestamp, single.data.duplicate);
    else unreadableAnswers++;
    return;
  }
  const batch = BatchAnswer.safeParse(answer);
  if (!batch.success) {
    unreadableAnswers++;
    return;
  }
  for (const item of batch.data.results) {
    if (item.status === 202 && item.timestamp !== undefined)
      accept(phase, device, item.timestamp, item.duplicate === true);
    else rejectedItems++;
  }
};

const countInto = (counts: Map<number, number>, status: number) =>
  counts.set(status, (counts.get(status) ?? 0) + 1);

const recordOf = (counts: Map<number, number>) =>
  Object.fromEntries([...counts].map(([status, n]) => [String(status), n]));

const newPhase = (): Phase => ({
  histogram: createHistogram(),
  statusCounts: new Map(),
  responses: 0,
  accepted: 0,
});

const resultOf = (phase: Phase, seconds: number, errors: number, timeouts: number): PhaseResult => {
  const non2xx = [...phase.statusCounts]
    .filter(([status]) => status < 200 || status >= 300)
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    seconds,
    responses: phase.responses,
    statusCounts: recordOf(phase.statusCounts),
    non2xx,
    errors,
    timeouts,
    latency: latencyOf(phase.histogram),
    acceptedReadings: phase.accepted,
  };
};

/**
 * One continuous run: answers that arrive in the first `warmupSeconds` count for the warm-up, the
 * ones of the next `durationSeconds` are measured. The load never pauses between the two, so the
 * server is in its steady state for the whole measured span, even when an answer takes seconds.
 */
const run = (): Promise<{ warmup: PhaseResult; measured: PhaseResult }> =>
  new Promise((resolve, reject) => {
    const warmup = newPhase();
    const measured = newPhase();
    const started = performance.now();
    const measureFrom = started + spec.warmupSeconds * 1000;
    const measureTo = measureFrom + spec.durationSeconds * 1000;
    const tell = (message: WorkerMessage) => port.postMessage(message);
    setTimeout(() => tell({ type: 'measure', edge: 'start' }), measureFrom - started);
    setTimeout(() => tell({ type: 'measure', edge: 'end' }), measureTo - started);
    const phaseAt = (now: number): Phase | undefined =>
      now < measureFrom ? warmup : now <= measureTo ? measured : undefined;
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        headers: spec.headers,
        connections: spec.connections,
        duration: spec.warmupSeconds + spec.durationSeconds,
        timeout: TIMEOUT_SECONDS,
        maxOverallRequests: MAX_REQUESTS,
        requests: [
          {
            // A connection posts one upload at a time: its context holds the device of the one in flight.
            setupRequest: (request, context: { device?: Device }) => {
              const { device, body } = nextUpload();
              context.device = device;
              const { apiKey } = device.stream;
              return {
                ...request,
                body,
                ...(apiKey ? { headers: { ...spec.headers, 'x-api-key': apiKey } } : {}),
              };
            },
            onResponse: (status, body, context: { device?: Device }) => {
              if (context.device) readAnswer(phaseAt(performance.now()), context.device, status, body);
            },
          },
        ],
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const finished = Math.min(performance.now(), measureTo);
        resolve({
          warmup: resultOf(warmup, spec.warmupSeconds, 0, 0),
          measured: resultOf(
            measured,
            Math.max(0, (finished - measureFrom) / 1000),
            result.errors,
            result.timeouts,
          ),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      countInto(statusCounts, statusCode);
      const phase = phaseAt(performance.now());
      if (!phase) return;
      phase.responses++;
      countInto(phase.statusCounts, statusCode);
      // A refusal (429 above all, answered at once) stores nothing: its time is not the ingest path's.
      if (statusCode >= 200 && statusCode < 300) recordMs(phase.histogram, responseTime);
    });
  });

const { warmup, measured } = await run();
const done: WorkerMessage = {
  type: 'result',
  result: {
    warmup,
    measured,
    statusCounts: recordOf(statusCounts),
    acceptedTimestamps,
    duplicateAnswers,
    rejectedItems,
    unreadableAnswers,
  },
};
port.postMessage(done);
