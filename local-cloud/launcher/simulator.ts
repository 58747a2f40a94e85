import * as z from 'zod/mini';
import { breachOf } from '../../handlers/enrichment/alarms.ts';
import { ErrorBody } from '../../schemas/error.ts';
import {
  BufferSeconds,
  type FlushLimit,
  FlushWhen,
  IngestBatchAnswer,
  MAX_BATCH,
} from '../../schemas/reading.ts';

/**
 * A simulated device fleet for `npm start`: each device posts readings over the public REST API
 * with its own API key, as a real device would: a slow drift with noise, now and then a spike
 * that breaches an alarm, and sometimes a few readings at once (a device catching up); each device
 * buffers as long as the ingest answer tells it (`bufferSeconds`).
 */
export interface SimulatedDevice {
  readonly deviceId: string;
  readonly apiKey: string;
  /** Metric name → [baseline, noise amplitude, spike size]. */
  readonly metrics: Record<string, readonly [number, number, number]>;
}

/** A post the API did not accept, or that never reached it. */
export interface PostFailure {
  readonly deviceId: string;
  /** The cause, without ids: `fetch failed: ECONNREFUSED`, `503 ServiceUnavailable`. */
  readonly reason: string;
  /** The whole answer or error. */
  readonly message: string;
}

export interface SimulatorOptions {
  readonly apiUrl: string;
  readonly devices: readonly SimulatedDevice[];
  readonly intervalMs: number;
  /** The most readings a device holds back and posts at once: a full `POST /readings` (100) unless a device has less room. */
  readonly maxUploadReadings?: number;
  readonly onFailure?: (failure: PostFailure) => void;
  /** A post answered 429: its readings are held and posted again after `retryAfterMs`. Not a failure. */
  readonly onThrottle?: (throttle: { readonly deviceId: string; readonly retryAfterMs: number }) => void;
}

/** `fetch failed` alone says nothing: the system error code (ECONNREFUSED...) is in its cause. */
const reasonOfError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : undefined;
  return code ? `${error.message}: ${code}` : error.message;
};

/**
 * What an unsuccessful answer says, short: its status and error code (`503 StoreUnavailable`),
 * for a batch the codes of its rejected readings and how many were rejected.
 */
const describeAnswer = (status: number, body: string): { reason: string; message: string } => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const error = ErrorBody.safeParse(json);
  if (error.success)
    return { reason: `${status} ${error.data.error.code}`, message: `${status} ${error.data.error.message}` };
  const batch = IngestBatchAnswer.safeParse(json);
  if (batch.success) {
    const codes = [
      ...new Set(batch.data.results.flatMap((result) => ('error' in result ? [result.error.code] : []))),
    ].join(', ');
    const { rejected, results } = batch.data;
    return {
      reason: `${status} ${codes}`,
      message: `${status}: ${rejected} of ${results.length} readings rejected (${codes})`,
    };
  }
  return { reason: `${status}`, message: `${status} ${body.slice(0, 200)}` };
};

const round = (value: number) => Math.round(value * 100) / 100;

/** The most readings one upload carries (`POST /readings` takes 1..100), and the most a device holds back. */
const MAX_UPLOAD_READINGS = MAX_BATCH;

interface Reading {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
  readonly sequence: number;
}

/** The first backoff of a throttled client told no `Retry-After`, and the most it ever waits. */
export const THROTTLE_BACKOFF_MS = { base: 1_000, max: 30_000 } as const;

/**
 * How long a throttled client waits: the answer's `Retry-After` (seconds) when it has one, as the
 * local gateway and a REST API's gateway responses answer. An HTTP API's own throttle answers 429
 * `{"message":"Too Many Requests"}` without it, so then the wait is exponential backoff with full
 * jitter over the throttles in a row before this one
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), which keeps a
 * throttled fleet from retrying in step.
 */
export const retryAfterMs = (
  response: Pick<Response, 'headers'>,
  throttledBefore = 0,
  random: () => number = Math.random,
): number => {
  const seconds = Number(response.headers.get('retry-after') ?? Number.NaN);
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  const ceiling = Math.min(THROTTLE_BACKOFF_MS.max, THROTTLE_BACKOFF_MS.base * 2 ** throttledBefore);
  return Math.floor(random() * ceiling);
};

/** The part of an accepting answer (202 or 207, one reading or a batch) a device acts on. */
const UploadAdvice = z.object({ bufferSeconds: BufferSeconds, flushWhen: z.optional(FlushWhen) });

/** The advice on its next uploads an answer gives the device, if it gives one. */
const adviceOf = (body: string): z.infer<typeof UploadAdvice> | undefined => {
  try {
    const advice = UploadAdvice.safeParse(JSON.parse(body));
    return advice.success ? advice.data : undefined;
  } catch {
    return undefined;
  }
};

/** Whether a value is beyond a limit, judged as the alarms judge it ({@link breachOf}). */
const isBeyond = (limit: FlushLimit, value: number | undefined): boolean =>
  value !== undefined && breachOf(limit, value) !== undefined;

/**
 * Whether a reading crosses one of the limits an answer gave (`flushWhen`): beyond one that the
 * last reading posted was within, or back within one it was beyond (nothing posted yet: within).
 * A reading without the limit's metric crosses nothing.
 */
export const crossesALimit = (
  limits: readonly FlushLimit[],
  metrics: Readonly<Record<string, number>>,
  lastPosted: Readonly<Record<string, number>> | undefined,
): boolean =>
  limits.some(
    (limit) =>
      metrics[limit.metric] !== undefined &&
      isBeyond(limit, metrics[limit.metric]) !== isBeyond(limit, lastPosted?.[limit.metric]),
  );

/**
 * Whether the readings a device holds are due (throttling and an upload in flight aside): at once
 * when it was told to stream (`bufferSeconds` 0), holds a full upload or holds a reading that
 * crossed one of its limits (`crossed`); otherwise once waiting one more interval would keep its
 * oldest reading as long as it was told it may or longer: an upload then carries
 * `⌈bufferSeconds / interval⌉` readings, as the cost model prices it.
 */
export const isUploadDue = (
  device: {
    readonly held: readonly { readonly timestamp: string }[];
    readonly bufferMs: number;
    readonly crossed?: boolean;
  },
  now: number,
  intervalMs: number,
  maxUploadReadings = MAX_UPLOAD_READINGS,
): boolean => {
  const oldest = device.held[0];
  if (oldest === undefined) return false;
  if (device.bufferMs === 0 || device.crossed || device.held.length >= maxUploadReadings) return true;
  return now - Date.parse(oldest.timestamp) + intervalMs >= device.bufferMs;
};

/**
 * Runs the fleet. Each device starts streaming and then does what each accepting answer's
 * `bufferSeconds` says: holds readings back that long (a full upload at most) and posts
 * them in one batch, or posts each reading as it comes once told 0, flushing what it held at once.
 * While it buffers, a reading that crosses one of the answer's `flushWhen` limits is posted at
 * once with everything held (report by exception), so its alarms are raised and resolved on time.
 * One upload of a device is in flight at a time; an upload the API did not accept (5xx, no answer)
 * is held and posted again with the next reading, a throttled one after its `Retry-After` (or a
 * jittered backoff when the answer has none). Readings still held when the fleet stops were never acknowledged: they go, as
 * a device's would when switched off.
 */
export const startSimulator = (options: SimulatorOptions): { stop(): Promise<void> } => {
  const state = new Map(options.devices.map((device) => [device.deviceId, { tick: 0, drift: 0 }]));
  const inFlight = new Set<Promise<void>>();
  const maxUpload = Math.min(MAX_UPLOAD_READINGS, options.maxUploadReadings ?? MAX_UPLOAD_READINGS);
  let stopped = false;

  const readingOf = (device: SimulatedDevice, at: Date): Reading => {
    const s = state.get(device.deviceId) ?? { tick: 0, drift: 0 };
    s.tick += 1;
    s.drift = s.drift * 0.9 + (Math.random() - 0.5);
    const spike = s.tick % 40 > 34;
    const metrics: Record<string, number> = {};
    for (const [name, [baseline, noise, spikeSize]] of Object.entries(device.metrics)) {
      const wave = Math.sin(s.tick / 12) * noise;
      metrics[name] = round(baseline + wave + s.drift * noise + (spike ? spikeSize : 0));
    }
    return { deviceId: device.deviceId, timestamp: at.toISOString(), metrics, sequence: s.tick };
  };

  /**
   * What each device holds back, how long it was told it may, the limits it posts at once on and
   * whether a held reading crossed one, the last reading it posted, and until when it waits after a 429.
   */
  const uploads = new Map(
    options.devices.map((device) => [
      device.deviceId,
      {
        held: [] as Reading[],
        bufferMs: 0,
        flushWhen: [] as readonly FlushLimit[],
        crossed: false,
        lastPosted: undefined as Record<string, number> | undefined,
        throttledUntil: 0,
        throttles: 0,
        posting: false,
      },
    ]),
  );

  const upload = (device: SimulatedDevice) => {
    const u = uploads.get(device.deviceId);
    if (!u || stopped || u.posting || Date.now() < u.throttledUntil) return;
    if (!isUploadDue(u, Date.now(), options.intervalMs, maxUpload)) return;
    const readings = u.held.splice(0, maxUpload);
    const flushing = u.crossed;
    u.crossed = false;
    u.lastPosted = readings.at(-1)?.metrics;
    /**
     * Puts readings the API did not accept back in front of what the device holds (the oldest go
     * past a full upload); a flush not accepted stays due, not held for the buffer.
     */
    const hold = (back: readonly Reading[]) => {
      u.held = [...back, ...u.held].slice(-maxUpload);
      if (flushing) u.crossed = true;
    };
    const body = readings.length === 1 ? readings[0] : { readings };
    u.posting = true;
    const request = fetch(`${options.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': device.apiKey },
      body: JSON.stringify(body),
    })
      .then(async (response) => {
        const text = await response.text();
        if (response.status === 429) {
          // Throttled: hold the readings and post them again once the answer's Retry-After has
          // passed, or after a jittered backoff when the answer has none (an HTTP API's throttle).
          hold(readings);
          const wait = retryAfterMs(response, u.throttles);
          u.throttledUntil = Date.now() + wait;
          u.throttles += 1;
          options.onThrottle?.({ deviceId: device.deviceId, retryAfterMs: wait });
          return;
        }
        u.throttles = 0;
        const told = response.status < 300 ? adviceOf(text) : undefined;
        if (told !== undefined) {
          u.bufferMs = told.bufferSeconds * 1000;
          u.flushWhen = told.flushWhen ?? [];
        }
        // Not stored, or not known to be (a timeout): safe to post again, duplicates are answered as such.
        if (response.status >= 500) hold(readings);
        if (response.status >= 300) {
          const { reason, message } = describeAnswer(response.status, text);
          options.onFailure?.({
            deviceId: device.deviceId,
            reason,
            message: `${device.deviceId}: POST /readings answered ${message}`,
          });
        }
      })
      .catch((error: unknown) => {
        hold(readings);
        options.onFailure?.({
          deviceId: device.deviceId,
          reason: reasonOfError(error),
          message: `${device.deviceId}: POST /readings failed: ${reasonOfError(error)}`,
        });
      })
      .finally(() => {
        u.posting = false;
        inFlight.delete(request);
        // Told to stream, or a reading crossed a limit, while readings piled up behind this
        // upload: they go now, not a tick later.
        if (u.bufferMs === 0 || u.crossed) upload(device);
      });
    inFlight.add(request);
  };

  const tick = (device: SimulatedDevice) => {
    const u = uploads.get(device.deviceId);
    if (!u) return;
    const now = Date.now();
    const fresh =
      Math.random() < 0.1
        ? [2, 1, 0].map((ago) => readingOf(device, new Date(now - (ago * options.intervalMs) / 3)))
        : [readingOf(device, new Date(now))];
    u.held = [...u.held, ...fresh].slice(-maxUpload);
    if (fresh.some((reading) => crossesALimit(u.flushWhen, reading.metrics, u.lastPosted))) u.crossed = true;
    upload(device);
  };

  const timers = options.devices.map((device, i) =>
    setTimeout(
      () => {
        if (stopped) return;
        tick(device);
        timers[i] = setInterval(() => tick(device), options.intervalMs);
      },
      (i * options.intervalMs) / options.devices.length,
    ),
  );

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
};
