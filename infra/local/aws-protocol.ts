import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the edge reads (PutEvents allows 256 KiB; leave room for the envelope). */
export const MAX_EDGE_BODY_BYTES = 16 * 1024 * 1024;

export const readBody = async (req: IncomingMessage, limit = MAX_EDGE_BODY_BYTES): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new PayloadTooLarge(limit);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
};

export class PayloadTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes`);
  }
}

/**
 * An error in AWS's JSON protocol shape (`awsJson1_0`/`awsJson1_1`): `__type` in the body and
 * `x-amzn-ErrorType` in the headers, which is what the SDK reads to raise the typed exception
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization).
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const sendAwsJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType: string,
): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(text);
};

export const sendAwsJsonError = (res: ServerResponse, error: AwsError, contentType: string): void => {
  const text = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(error.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': error.type,
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(text);
};

/** Reads a JSON protocol request body as an object, or fails as AWS does on malformed input. */
export const parseJsonRequest = (body: Buffer): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through to the AWS error below
  }
  throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
};
