import { z } from 'zod';
import { type BusTap, recordedAtOf } from './accounting.ts';
import { cpuWindow } from './cpu.ts';
import { startTsWorker } from './load.ts';

/** The push every accepted reading owes every subscribed client (`ReadingRecorded` is not pushed). */
export const PUSH_TYPE = 'ReadingEnriched';
/** Pushes each accepted reading costs per subscribed client: what the end-to-end rate is budgeted in. */
export const PUSHES_PER_READING = 1;

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

/** Nearest-rank percentiles of durations in milliseconds. */
export const percentilesOf = (values: readonly number[]): Percentiles => {
  if (values.length === 0) return { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: at(100) };
};

const PushAccount = z.object({
  /** Accepted readings × clients. */
  expected: z.number().int(),
  /** (reading, client) pairs that got the push at least once. */
  received: z.number().int(),
  lost: z.number().int(),
  /**
   * Pushes of a (reading, client) pair carrying an `eventId` other than its first: the dashboard
   * would show the reading twice.
   */
  duplicated: z.number().int(),
  /**
   * Pushes repeating an `eventId` the client already had (a redelivery, which the push function
   * may make and the dashboard drops): counted apart, neither received again nor duplicated.
   */
  repeated: z.number().int(),
  /** POST sent → first push read by the client, over the (reading, client) pairs of the measured span. */
  latency: Percentiles,
});
export type PushAccount = z.infer<typeof PushAccount>;

/**
 * The pushes each (reading, client) slot got: the first one's time and `eventId`, then how many
 * repeated that `eventId` (a redelivery the dashboard drops) and how many carried another
 * (a duplicate: the dashboard would show the reading twice).
 */
export class PushLedger {
  readonly #firstAt: Float64Array;
  readonly #firstEventId: (string | undefined)[];
  readonly #repeated: Uint16Array;
  readonly #duplicated: Uint16Array;
  #received = 0;

  constructor(slots: number) {
    this.#firstAt = new Float64Array(slots).fill(Number.NaN);
    this.#firstEventId = new Array<string | undefined>(slots);
    this.#repeated = new Uint16Array(slots);
    this.#duplicated = new Uint16Array(slots);
  }

  /** Slots that got at least one push. */
  get received(): number {
    return this.#received;
  }

  record(slot: number, eventId: string, at: number): void {
    const first = this.#firstEventId[slot];
    if (first === undefined) {
      this.#firstEventId[slot] = eventId;
      this.#firstAt[slot] = at;
      this.#received++;
    } else {
      const counts = first === eventId ? this.#repeated : this.#duplicated;
      counts[slot] = Math.min((counts[slot] ?? 0) + 1, 65_535);
    }
  }

  /** What slot `slot` got: undefined when no push came. */
  slot(slot: number): { firstAt: number; repeated: number; duplicated: number } | undefined {
    if (this.#firstEventId[slot] === undefined) return undefined;
    return {
      firstAt: this.#firstAt[slot] ?? Number.NaN,
      repeated: this.#repeated[slot] ?? 0,
      duplicated: this.#duplicated[slot] ?? 0,
    };
  }
}

/** An accepted reading, and when its POST was sent, on `sharedClockMs` (so the main thread can time it). */
const SentReading = z.object({
  readingId: z.string(),
  sentAtMs: z.number(),
  /** When its 202 was read. */
  answeredAtMs: z.number(),
  measured: z.boolean(),
});

/** What became of the accepted readings on the telemetry bus (not pushed; read from the bus tap). */
export interface RecordedAccount {
  /** Accepted readings. */
  readonly expected: number;
  /** Accepted readings whose `ReadingRecorded` the telemetry bus accepted by the end of the drain. */
  readonly announced: number;
  readonly missing: number;
  /** POST sent → `ReadingRecorded` accepted on the telemetry bus, over the measured span's readings. */
  readonly latency: Percentiles;
  /**
   * 202 read → `ReadingRecorded` accepted, over the same readings: the part of `latency` the
   * readings stream, its consumer and the bus add once the reading is stored (negative when the
   * event was on the bus before the device had read its answer).
   */
  readonly afterAnswer: Percentiles;
}

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
  /**
   * Posts of the measured span answered 429 at least once, and the 429 answers they got in all:
   * each was followed by a wait of its `Retry-After` and the same post again, which the latencies,
   * timed from the first attempt, include.
   */
  throttledPosts: z.number().int(),
  throttledAnswers: z.number().int(),
  /** POST sent → answer read, measured span. */
  postLatency: Percentiles,
  /** Every accepted reading, for timing its `ReadingRecorded` against the bus tap. */
  sent: z.array(SentReading),
  enriched: PushAccount,
  /**
   * Pushes naming a reading this run did not have accepted, `ReadingEnriched` pushes off their
   * schema, `ReadingRecorded` pushes (no longer forwarded), and unreadable frames.
   */
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

export interface E2eRun extends Omit<E2eResult, 'sent'> {
  readonly recorded: RecordedAccount;
  readonly spec: Omit<E2eSpec, 'viewerToken' | 'devices'> & { readonly deviceIds: readonly string[] };
  /** CPU time of the main thread (the local cloud) during the measured span. */
  readonly mainCpuMs: number | undefined;
}

/** Times every accepted reading's `ReadingRecorded` on the telemetry bus against its POST. */
const recordedAccountOf = (
  sent: readonly z.infer<typeof SentReading>[],
  telemetry: BusTap,
): RecordedAccount => {
  const recordedAt = recordedAtOf(telemetry);
  const latencies: number[] = [];
  const afterAnswer: number[] = [];
  let announced = 0;
  for (const reading of sent) {
    const at = recordedAt.get(reading.readingId);
    if (at === undefined) continue;
    announced++;
    if (!reading.measured) continue;
    latencies.push(at - reading.sentAtMs);
    afterAnswer.push(at - reading.answeredAtMs);
  }
  return {
    expected: sent.length,
    announced,
    missing: sent.length - announced,
    latency: percentilesOf(latencies),
    afterAnswer: percentilesOf(afterAnswer),
  };
};

/**
 * End to end, as a dashboard sees it: `clients` real WebSocket clients subscribe to the devices
 * with a viewer token, then readings are posted one per request at a steady rate (an open loop:
 * a slow answer does not slow the sender). For every reading the time from the POST being sent
 * to its `ReadingRecorded` being accepted on the telemetry bus (read from `telemetry`, the
 * accounting's tap: dashboards are not pushed that event), and for every (reading, client) pair
 * the time to the `ReadingEnriched` push being read, and whether it came once (repeats of the
 * same `eventId` counted apart). Sender and clients share one worker thread; the bus tap runs on
 * the main thread, and both read `sharedClockMs`.
 */
export const measureEndToEnd = async (spec: E2eSpec, telemetry: BusTap): Promise<E2eRun> => {
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
    const { sent, ...figures } = result;
    return {
      ...figures,
      recorded: recordedAccountOf(sent, telemetry),
      spec: { ...rest, deviceIds: devices.map((d) => d.deviceId) },
      mainCpuMs: cpu.cpuMs,
    };
  } finally {
    await worker.terminate();
  }
};
