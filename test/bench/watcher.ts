import WebSocket from 'ws';

const SUBSCRIBE_TIMEOUT_MS = 30_000;

/** A dashboard following devices over the WebSocket API, counting the frames pushed to it. */
export interface Watcher {
  /** Frames pushed since it subscribed (readings and alerts). */
  readonly pushes: () => number;
  readonly close: () => Promise<void>;
}

/**
 * Opens one WebSocket client with a viewer token and subscribes it to `deviceIds`, so they are
 * watched as a dashboard watches them: their uploads are answered `bufferSeconds` 0, and their
 * enriched readings are forwarded to the WebSocket bus and pushed. Resolves once subscribed.
 */
export const watchDevices = async (
  wsUrl: string,
  viewerToken: string,
  deviceIds: readonly string[],
): Promise<Watcher> => {
  const socket = new WebSocket(`${wsUrl}/?token=${encodeURIComponent(viewerToken)}`);
  let pushes = 0;
  const subscribed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`subscribing to ${deviceIds.length} devices took over ${SUBSCRIBE_TIMEOUT_MS} ms`)),
      SUBSCRIBE_TIMEOUT_MS,
    );
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`HTTP ${response.statusCode}`)),
    );
    socket.once('open', () => socket.send(JSON.stringify({ action: 'subscribe', deviceIds })));
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type?: unknown };
      if (frame.type === 'subscribed') {
        clearTimeout(timer);
        resolve();
      } else pushes++;
    });
  });
  try {
    await subscribed;
  } catch (error) {
    socket.terminate();
    throw error;
  }
  return {
    pushes: () => pushes,
    close: () =>
      new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
};
