import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { measurementOf, runLoad } from './load.ts';
import type { Measurement } from './measurement.ts';

export interface HttpCeilingOptions {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly epochMs: number;
}

const ANSWER = JSON.stringify({ accepted: true });

/**
 * The HTTP ceiling: a bare `node:http` server on the main thread, beside the local cloud, that
 * reads the same reading body, `JSON.parse`s it and answers 202 — what any Node HTTP API costs
 * before it does any work of its own.
 */
export const measureHttpCeiling = async (options: HttpCeilingOptions): Promise<Measurement> => {
  let malformed = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        malformed++;
        res.writeHead(400).end();
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end(ANSWER);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const result = await runLoad({
      url: `http://127.0.0.1:${port}/readings`,
      headers: { 'content-type': 'application/json' },
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      streams: [{ deviceId: 'bench-http', epochMs: options.epochMs, firstIndex: 0, batchSize: 1 }],
      readIngestAnswers: false,
    });
    if (malformed > 0) throw new Error(`the bare server could not parse ${malformed} bodies`);
    return measurementOf('http: bare node:http + JSON.parse', result);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
};
