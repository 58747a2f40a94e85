/**
 * A Lambda proxy integration with response streaming (`responseTransferMode: STREAM`,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html):
 * the function's stream starts with a JSON metadata prelude (status code, headers, cookies), then
 * eight NUL bytes, then the payload, which the gateway passes to the client as it arrives.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';

/** How much of the stream may come before the delimiter: a prelude is a status and some headers. */
const MAX_PRELUDE_BYTES = 64 * 1024;

const DELIMITER = Buffer.alloc(8);

const HeaderValue = z.union([z.string(), z.number(), z.boolean()]);

const Prelude = z.object({
  statusCode: z.number().int().min(100).max(599).optional(),
  headers: z.record(z.string(), HeaderValue).optional(),
  multiValueHeaders: z.record(z.string(), z.array(HeaderValue)).optional(),
  cookies: z.array(z.string()).optional(),
});

/** The HTTP answer a streaming integration's prelude declares. */
export interface StreamedHead {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
}

/** The stream broke its contract: no prelude within bounds, or one that is not the metadata JSON. */
export class MalformedStreamError extends Error {
  override readonly name = 'MalformedStreamError';
}

const headOf = (json: string): StreamedHead => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MalformedStreamError('The prelude is not JSON');
  }
  const prelude = Prelude.safeParse(parsed);
  if (!prelude.success) throw new MalformedStreamError('The prelude is not HTTP response metadata');
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(prelude.data.multiValueHeaders ?? {}))
    headers[name.toLowerCase()] = values.map(String);
  for (const [name, value] of Object.entries(prelude.data.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (prelude.data.cookies?.length) headers['set-cookie'] = prelude.data.cookies;
  return { statusCode: prelude.data.statusCode ?? 200, headers };
};

/**
 * Reads the stream up to its prelude's delimiter: the head it declares and the payload bytes
 * already read past it. The rest of the payload stays in the stream for the caller to pipe.
 * Rejects with the stream's own error (the invocation failed before its first byte) or a
 * {@link MalformedStreamError}.
 */
export const readPrelude = (body: Readable): Promise<{ head: StreamedHead; rest: Buffer }> =>
  new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const settle = (outcome: () => void) => {
      body.pause();
      body.off('data', onData).off('error', onError).off('end', onEnd);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const at = seen.indexOf(DELIMITER);
      if (at < 0) {
        if (seen.length > MAX_PRELUDE_BYTES)
          settle(() => reject(new MalformedStreamError('The prelude is past its size bound')));
        return;
      }
      settle(() => {
        try {
          resolve({
            head: headOf(seen.subarray(0, at).toString('utf8')),
            rest: seen.subarray(at + DELIMITER.length),
          });
        } catch (error) {
          reject(error);
        }
      });
    };
    const onError = (error: Error) => settle(() => reject(error));
    const onEnd = () => settle(() => reject(new MalformedStreamError('The stream has no metadata prelude')));
    body.on('data', onData).once('error', onError).once('end', onEnd);
  });
