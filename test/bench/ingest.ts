import { measurementOf, runLoad } from './load.ts';
import type { Measurement } from './measurement.ts';

export interface IngestOptions {
  readonly apiUrl: string;
  /** A registered device and its API key; the device's partition holds only this target's readings. */
  readonly deviceId: string;
  readonly apiKey: string;
  /** 1 posts one bare reading per request; 2..100 post `{readings: [...]}`. */
  readonly batchSize: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly epochMs: number;
  /** The row's name; by default it says how many readings each request carries. */
  readonly label?: string;
}

export interface IngestResult {
  readonly measurement: Measurement;
  readonly deviceId: string;
  /** Every reading the API acknowledged as new (202, `duplicate: false`), warm-up included. */
  readonly acceptedTimestamps: readonly string[];
  /** Status counts of every answer read, warm-up included. */
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Non-2xx answers among them. */
  readonly non2xx: number;
  readonly duplicateAnswers: number;
  readonly rejectedItems: number;
  readonly unreadableAnswers: number;
}

/**
 * sensorbus ingest end to end: `POST /readings` with a device's `x-api-key` through the local
 * gateway's HTTP API route (the ingest handler checking the key, conditional put), with
 * a distinct reading in every body.
 */
export const measureIngest = async (options: IngestOptions): Promise<IngestResult> => {
  const result = await runLoad({
    url: `${options.apiUrl}/readings`,
    headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
    connections: options.connections,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    stream: {
      deviceId: options.deviceId,
      epochMs: options.epochMs,
      firstIndex: 0,
      batchSize: options.batchSize,
    },
    readIngestAnswers: true,
  });
  const non2xx = Object.entries(result.statusCounts)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const label =
    options.label ??
    (options.batchSize === 1
      ? 'ingest path: single readings'
      : `ingest path: batches of ${options.batchSize}`);
  return {
    measurement: measurementOf(label, result),
    deviceId: options.deviceId,
    acceptedTimestamps: result.acceptedTimestamps,
    statusCounts: result.statusCounts,
    non2xx,
    duplicateAnswers: result.duplicateAnswers,
    rejectedItems: result.rejectedItems,
    unreadableAnswers: result.unreadableAnswers,
  };
};
