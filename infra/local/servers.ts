import type { Server } from 'node:http';

/**
 * Stops accepting connections and lets requests in flight finish, closing keep-alive sockets as
 * they fall idle; after `graceMs`, whatever is still open is cut.
 */
export const closeServer = async (server: Server, graceMs = 5000): Promise<void> => {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
  server.closeIdleConnections();
  try {
    await closed;
  } finally {
    clearInterval(sweeper);
    clearTimeout(deadline);
  }
};
