import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod/mini';
import type { ErrorBody } from '../../schemas/error.ts';
import { PUT_EVENTS_MAX_BYTES } from './aws-limits.ts';
import {
  HttpError,
  PayloadTooLargeError,
  shapeError,
  UnsupportedMediaTypeError,
  ValidationError,
  validationError,
} from './errors.ts';
import { logger } from './logger.ts';

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * A request as API Gateway hands it to a Lambda proxy integration: payload format 1.0 (REST API)
 * or 2.0 (HTTP API, headers lower-cased,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
export type ProxyEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** The largest body any endpoint accepts, as the contract states: what one EventBridge entry may carry. */
export const MAX_BODY_BYTES = PUT_EVENTS_MAX_BYTES;

const allowedOrigin = process.env.ALLOWED_ORIGIN ?? '*';

/** The CORS headers of every answer: the dashboard's origin. */
export const CORS_HEADERS = {
  'access-control-allow-origin': allowedOrigin,
  vary: 'Origin',
};

export const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...CORS_HEADERS },
  body: JSON.stringify(body),
});

/** 204: done, nothing to answer (`DELETE`). */
export const noContent = (): APIGatewayProxyResult => ({
  statusCode: 204,
  headers: { ...CORS_HEADERS },
  body: '',
});

export const problem = (error: HttpError): APIGatewayProxyResult => {
  const body: ErrorBody = {
    error: { code: error.code, message: error.message, details: error.details },
  };
  return json(error.status, body);
};

/** HTTP header names are case-insensitive; API Gateway passes them as the client sent them. */
export const headerIn = (headers: Record<string, string | undefined> | null | undefined, name: string) => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
};

export const headerOf = (event: Pick<ProxyEvent, 'headers'>, name: string): string | undefined =>
  headerIn(event.headers, name);

/**
 * Reads a JSON body: 415 unless the content type is JSON, 413 past the size limit, 400 when the
 * text is not JSON or nests too deeply or too widely (checked once here, linearly, so nothing
 * after it meets a pathological shape). Returns `unknown`: callers validate, never cast.
 */
export const parseJsonBody = (
  event: Pick<ProxyEvent, 'headers' | 'body' | 'isBase64Encoded'>,
  maxBytes = MAX_BODY_BYTES,
): unknown => {
  const contentType = headerOf(event, 'content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json' && !mediaType?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (text.trim() === '') {
    throw new ValidationError('Request body is empty', [{ path: '', message: 'a JSON body is required' }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof SyntaxError ? cause.message : 'not JSON';
    throw new ValidationError('Request body is not valid JSON', [{ path: '', message: reason }]);
  }
  const tooLarge = shapeError(parsed, { prototypeKeys: false });
  if (tooLarge) throw tooLarge;
  return parsed;
};

/** Validates `input` with `schema` or throws a 400 naming every bad field. */
export const validate = <T extends z.ZodMiniType>(
  schema: T,
  input: unknown,
  prefix: PropertyKey[] = [],
): z.infer<T> => {
  const badShape = shapeError(input, { prototypeKeys: true, prefix });
  if (badShape) throw badShape;
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error.issues, prefix);
  return result.data;
};

/** The method and path of a request in either payload format, for the log. */
const requestLineOf = (event: ProxyEvent): { path: string; method: string } =>
  'httpMethod' in event
    ? { path: event.path, method: event.httpMethod }
    : { path: event.rawPath, method: event.requestContext.http.method };

/** Maps thrown errors to answers in one place; unexpected errors are logged and answered without detail. */
export const withErrors =
  <E extends ProxyEvent = APIGatewayProxyEvent>(handler: (event: E) => Promise<APIGatewayProxyResult>) =>
  async (event: E): Promise<APIGatewayProxyResult> => {
    try {
      return await handler(event);
    } catch (error) {
      if (error instanceof HttpError) return problem(error);
      logger().error('Unhandled error', { error: error as Error, ...requestLineOf(event) });
      return problem(
        new HttpError(500, 'InternalError', 'The request could not be completed; it is safe to retry'),
      );
    }
  };
