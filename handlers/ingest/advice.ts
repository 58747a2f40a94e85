import { type FlushLimit, UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import type { UploadView } from '../lib/devices-store.ts';
import { type WatchingDeps, warnUnknown, watchedAt } from '../lib/watching.ts';

/**
 * What the ingest's answer tells a device about its next uploads: how long it may hold readings
 * back (`bufferSeconds`), and while it may, the limits it posts at once on (`flushWhen`).
 */
export interface UploadAdvice {
  readonly bufferSeconds: number;
  readonly flushWhen?: readonly FlushLimit[];
}

/** The advice to a device a dashboard may be watching: post each reading as it comes. */
const STREAM: UploadAdvice = { bufferSeconds: 0 };

/** What advising needs: the device's watch and alarm limits, and a place to say they could not be read. */
export interface AdviceDeps extends Pick<WatchingDeps, 'warn'> {
  uploadView(deviceId: string): Promise<UploadView>;
}

/**
 * Whether a dashboard may be watching the device now, and the advice that follows. Watched: it
 * streams. Nobody watching: it may buffer {@link UNWATCHED_BUFFER_SECONDS}, and posts at once a
 * reading that crosses one of its alarms' limits (report by exception), so its threshold alerts do
 * not wait for the buffer. When the device cannot be read, it is taken as watched, as
 * `isWatched` takes it. Never rejects.
 */
export const adviseUploads = async (
  deviceId: string,
  now: Date,
  deps: AdviceDeps,
): Promise<{ watched: boolean; advice: UploadAdvice }> => {
  try {
    const { watchedUntil, flushWhen } = await deps.uploadView(deviceId);
    if (watchedAt(watchedUntil, now)) return { watched: true, advice: STREAM };
    return { watched: false, advice: { bufferSeconds: UNWATCHED_BUFFER_SECONDS, flushWhen } };
  } catch (error) {
    warnUnknown(deviceId, error, deps);
    return { watched: true, advice: STREAM };
  }
};
