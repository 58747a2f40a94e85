import { ErrorBody } from '../../schemas/error.ts';
import { IngestBatchAnswer } from '../../schemas/reading.ts';

/**
 * A simulated device fleet for `npm start`: each device posts readings over the public REST API
 * with its own API key, as a real device would: a slow drift with noise, now and then a spike
 * that breaches an alarm, and sometimes a batch of buffered readings.
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
  readonly onFailure?: (failure: PostFailure) => void;
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

/** A device holds at most one batch's worth of readings while it is throttled; older ones are dropped. */
const MAX_HELD_READINGS = 100;

interface Reading {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
  readonly sequence: number;
}

/** How long a throttled client waits: the answer's `Retry-After` (seconds), one second without it. */
export const retryAfterMs = (response: Pick<Response, 'headers'>): number => {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
};

export const startSimulator = (options: SimulatorOptions): { stop(): Promise<void> } => {
  const state = new Map(options.devices.map((device) => [device.deviceId, { tick: 0, drift: 0 }]));
  const inFlight = new Set<Promise<void>>();
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

  /** Readings a device holds back after a 429, and until when it waits before it posts again. */
  const held = new Map<string, { readings: Reading[]; until: number }>();

  const post = (device: SimulatedDevice) => {
    const now = Date.now();
    const fresh =
      Math.random() < 0.1
        ? [2, 1, 0].map((ago) => readingOf(device, new Date(now - (ago * options.intervalMs) / 3)))
        : [readingOf(device, new Date(now))];
    const backlog = held.get(device.deviceId);
    const readings = [...(backlog?.readings ?? []), ...fresh].slice(-MAX_HELD_READINGS);
    if (backlog && now < backlog.until) {
      backlog.readings = readings;
      return;
    }
    held.delete(device.deviceId);
    const body = readings.length === 1 ? readings[0] : { readings };
    const request = fetch(`${options.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': device.apiKey },
      body: JSON.stringify(body),
    })
      .then(async (response) => {
        if (response.status === 429) {
          // Throttled: hold the readings and post them again once the answer's Retry-After has passed.
          await response.arrayBuffer();
          held.set(device.deviceId, { readings, until: Date.now() + retryAfterMs(response) });
          return;
        }
        if (response.status >= 300) {
          const { reason, message } = describeAnswer(response.status, await response.text());
          options.onFailure?.({
            deviceId: device.deviceId,
            reason,
            message: `${device.deviceId}: POST /readings answered ${message}`,
          });
        } else await response.arrayBuffer();
      })
      .catch((error: unknown) =>
        options.onFailure?.({
          deviceId: device.deviceId,
          reason: reasonOfError(error),
          message: `${device.deviceId}: POST /readings failed: ${reasonOfError(error)}`,
        }),
      )
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  const timers = options.devices.map((device, i) =>
    setTimeout(
      () => {
        if (stopped) return;
        post(device);
        timers[i] = setInterval(() => post(device), options.intervalMs);
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
