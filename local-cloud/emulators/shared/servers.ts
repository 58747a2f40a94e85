import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

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

/** What Node's HTTP parser errors mean to the client (https://nodejs.org/api/http.html#event-clienterror). */
const clientErrorAnswers: Readonly<Record<string, { status: number; reason: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    message: 'Request header fields are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    message: 'The request took too long to arrive',
  },
  ERR_HTTP_HEADERS_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    message: 'The request headers took too long to arrive',
  },
};
const malformed = { status: 400, reason: 'Bad Request', message: 'The request is not valid HTTP/1.1' };

/** Writes a complete HTTP/1.1 answer with a JSON body on a raw socket and closes it. */
export const writeRawJson = (
  socket: Duplex,
  status: number,
  reason: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void => {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
};

/**
 * Answers requests Node's HTTP parser refuses (a bad request line, headers too large, a request
 * too slow to arrive) with a JSON body saying why, instead of Node's empty one; `bodyOf` renders
 * it in the contract's error shape.
 */
export const answerClientErrorsWithJson = (
  server: Server,
  bodyOf: (status: number, message: string) => string,
): void => {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const answer = clientErrorAnswers[error.code ?? ''] ?? malformed;
    writeRawJson(socket, answer.status, answer.reason, bodyOf(answer.status, answer.message));
  });
};
