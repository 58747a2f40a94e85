import { measurementOf, runLoad } from './load.ts';
import type { Measurement } from './measurement.ts';

/** A registered device that posts in a target, and how it posts. */
export interface IngestDevice {
  readonly deviceId: string;
  readonly apiKey: string;
  /** 1 posts one bare reading per request; 2..100 post `{readings: [...]}`. */
  readonly batchSize: number;
}

export interface IngestOptions {
  readonly apiUrl: string;
  /** The devices posting, in turn; each device's partition holds only this target's readings. */
  readonly devices: readonly IngestDevice[];
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly epochMs: number;
  /** The row's name; by default it says how many readings each request carries. */
  readonly label?: string;
}

export interface IngestResult {
  readonly measurement: Measurement;
  /** Every reading the API acknowledged as new (202, `duplicate: false`), warm-up included, by device. */
  readonly accepted: readonly { readonly deviceId: string; readonly acceptedTimestamps: readonly string[] }[];
  /** Status counts of every answer read, warm-up included. */
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Non-2xx answers among them. */
  readonly non2xx: number;
  readonly duplicateAnswers: number;
  readonly rejectedItems: number;
  readonly unreadableAnswers: number;
}

/** The default name of a row whose devices all post `batchSize` readings a request. */
const labelOf = (devices: readonly IngestDevice[]): string => {
  const sizes = new Set(devices.map((device) => device.batchSize));
  const [only] = sizes;
  if (sizes.size !== 1 || only === undefined) return 'ingest path: mixed uploads';
  return only === 1 ? 'ingest path: single readings' : `ingest path: batches of ${only}`;
};

/**
 * sensorbus ingest end to end: `POST /readings` with each device's `x-api-key` through the local
 * gateway's HTTP API route (the ingest handler checking the key, conditional put), with
 * a distinct reading in every body, the devices taking turns.
 */
export const measureIngest = async (options: IngestOptions): Promise<IngestResult> => {
  const result = await runLoad({
    url: `${options.apiUrl}/readings`,
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    streams: options.devices.map((device) => ({
      deviceId: device.deviceId,
      apiKey: device.apiKey,
      epochMs: options.epochMs,
      firstIndex: 0,
      batchSize: device.batchSize,
    })),
    readIngestAnswers: true,
  });
  const non2xx = Object.entries(result.statusCounts)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    measurement: measurementOf(options.label ?? labelOf(options.devices), result),
    accepted: options.devices.map(({ deviceId }) => ({
      deviceId,
      acceptedTimestamps: result.acceptedTimestamps[deviceId] ?? [],
    })),
    statusCounts: result.statusCounts,
    non2xx,
    duplicateAnswers: result.duplicateAnswers,
    rejectedItems: result.rejectedItems,
    unreadableAnswers: result.unreadableAnswers,
  };
};
