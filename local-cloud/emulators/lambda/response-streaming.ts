/**
 * Lambda response streaming in the local runtime
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html): the
 * `awslambda` global a Node.js execution environment provides (`streamifyResponse`,
 * `HttpResponseStream.from`), the response stream a streaming handler writes to inside its worker
 * thread, and the readable body the caller gets in the main thread. A chunk crosses from the
 * worker only when the caller took the previous one, so a slow reader holds the handler back
 * instead of the runtime buffering the whole response.
 */
import { Readable, Writable } from 'node:stream';
import type { Context } from 'aws-lambda';

/** The mark `awslambda.streamifyResponse` puts on a handler (the Node.js runtime's own symbol and value). */
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';

/** The content type `HttpResponseStream.from` gives a stream whose first bytes are the HTTP metadata prelude. */
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

/** What separates the JSON metadata prelude from the payload: eight NUL bytes. */
export const PRELUDE_DELIMITER = new Uint8Array(8);

export type StreamingHandler = (
  event: unknown,
  responseStream: Writable,
  context: Context,
) => Promise<unknown>;

export const isStreamingHandler = (handler: unknown): handler is StreamingHandler =>
  typeof handler === 'function' &&
  (handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING] === STREAM_RESPONSE;

/** A response stream whose content type can be set, as the runtime's is. */
export interface TypedResponseStream extends Writable {
  setContentType(contentType: string): void;
}

/**
 * Installs the `awslambda` global of the Node.js runtime: handler modules reference it at import
 * (`export const handler = awslambda.streamifyResponse(...)`), so it must exist before they load.
 */
export const installAwsLambdaGlobal = (): void => {
  Object.assign(globalThis, {
    awslambda: {
      streamifyResponse: <T extends object>(handler: T): T =>
        Object.assign(handler, { [HANDLER_STREAMING]: STREAM_RESPONSE }),
      HttpResponseStream: {
        from(stream: TypedResponseStream, prelude: Record<string, unknown>): TypedResponseStream {
          stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
          stream.write(JSON.stringify(prelude));
          stream.write(PRELUDE_DELIMITER);
          return stream;
        },
      },
    },
  });
};

/** Raised in the handler's writes once the caller stopped reading (the client went away). */
export class ResponseStreamClosedError extends Error {
  override readonly name = 'ResponseStreamClosedError';
}

/**
 * The stream a streaming handler writes to, inside its worker thread: each chunk is sent to the
 * runtime and its write completes when the caller has taken it; the stream's own high-water mark
 * bounds what waits in between.
 */
export const workerResponseStream = (
  send: (data: Uint8Array) => Promise<'taken' | 'closed'>,
): TypedResponseStream => {
  let contentType = 'application/octet-stream';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // A copy of exactly the chunk: a view would carry its whole (often pooled) buffer across.
      send(new Uint8Array(chunk)).then(
        (outcome) =>
          callback(
            outcome === 'closed'
              ? new ResponseStreamClosedError('The caller closed the response stream')
              : null,
          ),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    },
  });
  return Object.assign(stream, {
    setContentType(value: string) {
      contentType = value;
    },
    get contentType() {
      return contentType;
    },
  });
};

/** What a streaming invocation resolves with once the handler's stream ended. */
export const STREAMED = Symbol('the response was streamed');

/** A chunk a streaming invocation produced, and how to tell the worker whether it was taken. */
export type ChunkListener = (data: Uint8Array, settle: (outcome: 'taken' | 'closed') => void) => void;

/**
 * The caller's side: a readable body fed by `start`, which runs the invocation with a chunk
 * listener and resolves when it completed. A chunk is taken when the body's buffer has room, or
 * later when the reader asks for more; a body destroyed by its reader answers `closed`, so the
 * handler stops instead of waiting for a reader that is gone. A function that does not stream
 * answers its result as one chunk of JSON, as `InvokeWithResponseStream` does.
 */
export const responseBody = (start: (onChunk: ChunkListener) => Promise<unknown>): Readable => {
  let waiting: ((outcome: 'taken' | 'closed') => void) | undefined;
  const body = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      const settle = waiting;
      waiting = undefined;
      settle?.('taken');
    },
    destroy(error, callback) {
      const settle = waiting;
      waiting = undefined;
      settle?.('closed');
      callback(error);
    },
  });
  const onChunk: ChunkListener = (data, settle) => {
    if (body.destroyed) return settle('closed');
    if (body.push(data)) settle('taken');
    else waiting = settle;
  };
  start(onChunk).then(
    (value) => {
      if (body.destroyed) return;
      if (value !== STREAMED) body.push(JSON.stringify(value ?? null));
      body.push(null);
    },
    (error: unknown) => body.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return body;
};
