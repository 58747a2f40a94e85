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

export interface SimulatorOptions {
  readonly apiUrl: string;
  readonly devices: readonly SimulatedDevice[];
  readonly intervalMs: number;
  readonly onError?: (deviceId: string, error: string) => void;
}

const round = (value: number) => Math.round(value * 100) / 100;

export const startSimulator = (options: SimulatorOptions): { stop(): Promise<void> } => {
  const state = new Map(options.devices.map((device) => [device.deviceId, { tick: 0, drift: 0 }]));
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const readingOf = (device: SimulatedDevice, at: Date) => {
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

  const post = (device: SimulatedDevice) => {
    const now = Date.now();
    const batch = Math.random() < 0.1;
    const body = batch
      ? {
          readings: [2, 1, 0].map((ago) => readingOf(device, new Date(now - (ago * options.intervalMs) / 3))),
        }
      : readingOf(device, new Date(now));
    const request = fetch(`${options.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': device.apiKey },
      body: JSON.stringify(body),
    })
      .then(async (response) => {
        if (response.status >= 300)
          options.onError?.(device.deviceId, `${response.status} ${await response.text()}`);
        else await response.arrayBuffer();
      })
      .catch((error: unknown) => options.onError?.(device.deviceId, String(error)))
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
