import { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { SigV4Failure } from '../edge/sigv4.ts';

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

/**
 * The request again, with the body that was already read to check its signature, for a handler
 * (dynalite) that reads the body from the request stream itself.
 */
export const withBody = (req: IncomingMessage, body: Buffer): IncomingMessage => {
  const copy = new IncomingMessage(new Socket());
  copy.method = req.method ?? 'GET';
  copy.url = req.url ?? '/';
  copy.headers = req.headers;
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
};

/** Why the edge refuses a request before any service sees it: its signature, or a browser's foreign origin. */
export type Refusal = SigV4Failure | { readonly kind: 'foreign-origin'; readonly message: string };

/**
 * The error a JSON-protocol service (DynamoDB, EventBridge, Step Functions, Secrets Manager)
 * answers for a refused request: every Coral service answers these codes with status 400
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.MessagesAndCodes);
 * a foreign origin is refused as AccessDeniedException, 403.
 */
export const jsonRefusal = (refusal: Refusal): AwsError => {
  switch (refusal.kind) {
    case 'missing':
      return new AwsError('MissingAuthenticationTokenException', refusal.message);
    case 'incomplete':
      return new AwsError('IncompleteSignatureException', refusal.message);
    case 'unknown-key':
      return new AwsError('UnrecognizedClientException', refusal.message);
    case 'mismatch':
      return new AwsError('InvalidSignatureException', refusal.message);
    case 'foreign-origin':
      return new AwsError('AccessDeniedException', refusal.message, 403);
  }
};

/**
 * The error API Gateway answers for a refused request (REST-JSON: the code in `x-amzn-ErrorType`,
 * `{"message"}` in the body, always 403), e.g. the well-known "Missing Authentication Token"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-troubleshooting-errors.html).
 */
export const restRefusal = (refusal: Refusal): AwsError => {
  switch (refusal.kind) {
    case 'missing':
      return new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
    case 'incomplete':
      return new AwsError('IncompleteSignatureException', refusal.message, 403);
    case 'unknown-key':
      return new AwsError('UnrecognizedClientException', refusal.message, 403);
    case 'mismatch':
      return new AwsError('InvalidSignatureException', refusal.message, 403);
    case 'foreign-origin':
      return new AwsError('ForbiddenException', 'Forbidden', 403);
  }
};

/**
 * The error a Query-protocol service (SNS) answers for a refused request, from its common errors
 * (https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html): `<Type>Sender</Type>` with
 * MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId or SignatureDoesNotMatch;
 * a foreign origin is refused as SNS's AuthorizationError.
 */
export const queryRefusal = (refusal: Refusal): AwsError => {
  switch (refusal.kind) {
    case 'missing':
      return new AwsError('MissingAuthenticationToken', refusal.message, 403);
    case 'incomplete':
      return new AwsError('IncompleteSignature', refusal.message, 400);
    case 'unknown-key':
      return new AwsError('InvalidClientTokenId', refusal.message, 403);
    case 'mismatch':
      return new AwsError('SignatureDoesNotMatch', refusal.message, 403);
    case 'foreign-origin':
      return new AwsError('AuthorizationError', refusal.message, 403);
  }
};

/** A REST-JSON error (API Gateway Management API): the type in `x-amzn-ErrorType`, `{"message"}` in the body. */
export const sendRestJsonError = (res: ServerResponse, error: AwsError): void => {
  const text = JSON.stringify({ message: error.message });
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': error.type,
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(text);
};

/** One broken constraint of a request member, as AWS's request validation reports it. */
export interface ConstraintViolation {
  readonly value: unknown;
  /** The member's path, e.g. `name` or `targets.1.member.id`. */
  readonly member: string;
  readonly constraint: string;
}

/**
 * The ValidationException AWS's JSON services answer for a request that breaks its model's
 * constraints: `1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: …`,
 * the violations joined by `; ` (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html).
 */
export const validationException = (violations: readonly ConstraintViolation[]): AwsError => {
  const count = violations.length === 1 ? '1 validation error' : `${violations.length} validation errors`;
  const shown = (value: unknown) => (value === undefined || value === null ? 'null' : `'${String(value)}'`);
  return new AwsError(
    'ValidationException',
    `${count} detected: ${violations
      .map((v) => `Value ${shown(v.value)} at '${v.member}' failed to satisfy constraint: ${v.constraint}`)
      .join('; ')}`,
  );
};
