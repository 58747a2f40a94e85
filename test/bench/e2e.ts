import { z } from 'zod';
import { cpuWindow } from './cpu.ts';
import { startTsWorker } from './load.ts';

/** The two pushes every accepted reading owes every subscribed client. */
export const PUSH_TYPES = ['ReadingRecorded', 'ReadingEnriched'] as const;
export type PushType = (typeof PUSH_TYPES)[number];

/** One end-to-end run: devices posting at a steady rate, dashboards following them over WebSocket. */
export const E2eSpec = z.object({
  apiUrl: z.url(),
  wsUrl: z.string().startsWith('ws://'),
  /** A viewer token that sees every device below. */
  viewerToken: z.string(),
  devices: z.array(z.object({ deviceId: z.string(), apiKey: z.string() })).min(1),
  clients: z.number().int().positive(),
  ratePerSec: z.number().positive(),
  /** Unmeasured, the rate ramping up linearly from a fifth of `ratePerSec`. */
  warmupSeconds: z.number().nonnegative(),
  durationSeconds: z.number().positive(),
  /** How long, after the last post, pushes still on their way are waited for. */
  drainSeconds: z.number().nonnegative(),
  /** Reading `i` is timestamped `epochMs + i` ms: unique, so every post is a new reading. */
  epochMs: z.number().int(),
});
export type E2eSpec = z.infer<typeof E2eSpec>;

export const Percentiles = z.object({
  count: z.number().int(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  maxMs: z.number(),
});
export type Percentiles = z.infer<typeof Percentiles>;

const PushAccount = z.object({
  /** Accepted readings × clients. */
  expected: z.number().int(),
  /** (reading, client) pairs that got the push at least once. */
  received: z.number().int(),
  lost: z.number().int(),
  /** Pushes beyond the first of a (reading, client) pair. */
  duplicated: z.number().int(),
  /** POST sent → push read by the client, over the (reading, client) pairs of the measured span. */
  latency: Percentiles,
});
export type PushAccount = z.infer<typeof PushAccount>;

export const E2eResult = z.object({
  /** Readings posted, warm-up included, and those posted in the measured span. */
  posted: z.number().int(),
  measuredPosted: z.number().int(),
  /** Readings posted per second over the measured span: the rate really held. */
  achievedRatePerSec: z.number(),
  /** Answered 202 `duplicate: false`. */
  accepted: z.number().int(),
  /** Answers other than that, and posts that got no answer. */
  failedPosts: z.number().int(),
  postErrors: z.array(z.string()),
  /** Times the sender waited because too many posts were unanswered (the rate was not held). */
  stalls: z.number().int(),
  /** POST sent → answer read, measured span. */
  postLatency: Percentiles,
  recorded: PushAccount,
  enriched: PushAccount,
  /** Pushes naming a reading this run did not have accepted, or unreadable frames. */
  unexpectedPushes: z.number().int(),
  /** From the last post until every push was in (or the drain time ran out). */
  drainMs: z.number(),
  /** Timestamps of accepted readings per device, for the store-and-bus account. */
  acceptedTimestamps: z.record(z.string(), z.array(z.string())),
  /** What connecting and subscribing every client took. */
  connectMs: z.number(),
});
export type E2eResult = z.infer<typeof E2eResult>;

export const E2eMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('measure'), edge: z.enum(['start', 'end']) }),
  z.object({ type: z.literal('result'), result: E2eResult }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type E2eMessage = z.infer<typeof E2eMessage>;

export interface E2eRun extends E2eResult {
  readonly spec: Omit<E2eSpec, 'viewerToken' | 'devices'> & { readonly deviceIds: readonly string[] };
  /** CPU time of the main thread (the local cloud) during the measured span. */
  readonly mainCpuMs: number | undefined;
}

/**
 * End to end, as a dashboard sees it: `clients` real WebSocket clients subscribe to the devices
 * with a viewer token, then readings are posted one per request at a steady rate (an open loop:
 * a slow answer does not slow the sender). For every (reading, client) pair the time from the
 * POST being sent to the `ReadingRecorded` and to the `ReadingEnriched` push being read, and
 * whether each came exactly once. Sender and clients share one worker thread, so both ends of
 * every interval are read on the same clock, and the local cloud keeps the main thread.
 */
export const measureEndToEnd = async (spec: E2eSpec): Promise<E2eRun> => {
  const worker = startTsWorker(new URL('./e2e-worker.ts', import.meta.url), E2eSpec.parse(spec));
  const limitMs = (spec.warmupSeconds + spec.durationSeconds + spec.drainSeconds + 90) * 1000;
  const cpu = cpuWindow();
  try {
    const result = await new Promise<E2eResult>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the end-to-end run did not finish within ${limitMs} ms`)),
        limitMs,
      );
      worker.on('message', (raw: unknown) => {
        const message = E2eMessage.safeParse(raw);
        if (!message.success) {
          clearTimeout(timer);
          reject(new Error(`end-to-end worker sent an unexpected message: ${message.error.message}`));
        } else if (message.data.type === 'measure') {
          if (message.data.edge === 'start') cpu.start();
          else cpu.stop();
        } else if (message.data.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`end-to-end run failed: ${message.data.message}`));
        } else {
          clearTimeout(timer);
          cpu.stop();
          resolve(message.data.result);
        }
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`end-to-end worker exited with code ${code} before answering`));
      });
    });
    const { viewerToken: _, devices, ...rest } = spec;
    return { ...result, spec: { ...rest, deviceIds: devices.map((d) => d.deviceId) }, mainCpuMs: cpu.cpuMs };
  } finally {
    await worker.terminate();
  }
};
