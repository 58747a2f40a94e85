/** What telling whether a device is watched needs: its `watchedUntil`, and a place to say it failed. */
export interface WatchingDeps {
  /** Until when a dashboard may be watching the device (ISO time), if one ever subscribed to it. */
  watchedUntil(deviceId: string): Promise<string | undefined>;
  warn(message: string, context: Record<string, unknown>): void;
}

/**
 * Whether a dashboard may be watching the device now. When the device cannot be looked up, yes:
 * a device told to stream and an upload forwarded to dashboards cost a little more, one told to
 * buffer (or an upload not forwarded) while watched would freeze a dashboard. Never rejects. The
 * ingest answers the device with it, the announcer marks the upload's event with it.
 */
export const isWatched = async (deviceId: string, now: Date, deps: WatchingDeps): Promise<boolean> => {
  try {
    return watchedAt(await deps.watchedUntil(deviceId), now);
  } catch (error) {
    warnUnknown(deviceId, error, deps);
    return true;
  }
};

/** Whether a device whose watch lasts `until` (if it ever had one) is watched at `now`. */
export const watchedAt = (until: string | undefined, now: Date): boolean =>
  until !== undefined && Date.parse(until) > now.getTime();

/** Says that a device's watch could not be read, so it is taken as watched. */
export const warnUnknown = (deviceId: string, error: unknown, deps: Pick<WatchingDeps, 'warn'>): void =>
  deps.warn('Could not tell whether the device is watched; taken as watched', { deviceId, error });
