import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  responseBody,
  STREAMED,
  workerResponseStream,
} from '../../../../../local-cloud/emulators/lambda/response-streaming.ts';

const CHUNK_BYTES = 16 * 1024;
const CHUNKS = 256;

/** Lets every pending callback, promise and immediate run, as many turns as a stalled producer could use. */
const settle = async () => {
  for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * A streaming handler's writes as the local runtime wires them: the worker's response stream sends
 * each chunk to the caller's body and waits for it to be taken, the handler waits for `drain` as
 * the readings export does. Counts the chunks the handler got past.
 */
const exportOf4MiB = () => {
  let written = 0;
  const body = responseBody(async (onChunk) => {
    const out = workerResponseStream((data) => new Promise((resolve) => onChunk(data, resolve)));
    for (let i = 0; i < CHUNKS; i++) {
      if (!out.write(Buffer.alloc(CHUNK_BYTES, i % 256))) await once(out, 'drain');
      written += 1;
    }
    out.end();
    await finished(out);
    return STREAMED;
  });
  return { body, written: () => written };
};

describe('Lambda response streaming in the local runtime', () => {
  it('holds the handler back while its caller does not read, instead of buffering the response', async () => {
    const { body, written } = exportOf4MiB();

    await settle();

    // The body's 64 KiB, the response stream's 16 KiB and the chunk in flight: a few chunks of 256.
    expect(written()).toBeLessThanOrEqual(8);
    expect(body.readableLength).toBeLessThanOrEqual(64 * 1024);
    await settle();
    expect(written()).toBeLessThanOrEqual(8);
    body.destroy();
  });

  it('delivers every chunk once, in order, to a caller that reads slowly', async () => {
    const { body, written } = exportOf4MiB();
    const firsts: number[] = [];
    let bytes = 0;

    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += CHUNK_BYTES) firsts.push(chunk[at] ?? -1);
      bytes += chunk.length;
      // A reader slower than the writer: the handler never runs more than a few chunks ahead.
      expect(written() - firsts.length).toBeLessThanOrEqual(8);
      await settle();
    }

    expect(bytes).toBe(CHUNKS * CHUNK_BYTES);
    expect(firsts).toEqual(Array.from({ length: CHUNKS }, (_, i) => i % 256));
  });

  it("fails the handler's write once the caller is gone, so it stops instead of waiting", async () => {
    let failure: unknown;
    let written = 0;
    const body = responseBody(async (onChunk) => {
      const out = workerResponseStream((data) => new Promise((resolve) => onChunk(data, resolve)));
      out.on('error', (error) => {
        failure = error;
      });
      for (let i = 0; i < CHUNKS && !out.destroyed; i++) {
        if (!out.write(Buffer.alloc(CHUNK_BYTES))) await once(out, 'drain').catch(() => {});
        written += 1;
      }
      return STREAMED;
    });
    await settle();

    body.destroy();
    await settle();

    expect(failure).toMatchObject({ name: 'ResponseStreamClosedError' });
    expect(written).toBeLessThanOrEqual(8);
  });
});
