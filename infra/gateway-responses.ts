import {
  ForbiddenError,
  type HttpError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
} from '../handlers/lib/errors.ts';
import { MAX_BODY_BYTES } from '../handlers/lib/http.ts';
import type { ErrorBody } from '../schemas/error.ts';
import { type AuthorizerSpec, INTEGRATION_TIMEOUT_SECONDS, type RouteSpec } from './api.ts';

/** API Gateway's own message for the failure, already a quoted JSON string when substituted. */
export const GATEWAY_MESSAGE = '$context.error.messageString';

/** One gateway response: API Gateway's answer when it refuses a request before any handler runs. */
export interface GatewayResponseSpec {
  /** The `ResponseType` (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html). */
  readonly type: string;
  /** Overrides the status API Gateway would answer with; the default types keep their own. */
  readonly statusCode?: number;
  /** The `application/json` template: the contract's error body, `$context` substitutions only (no VTL). */
  readonly template: string;
  /** Static headers the response carries besides CORS's. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * How long a throttled client waits before it retries (seconds): a stage's bucket refills at its
 * rate a second, so one second always holds a new token.
 */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

const body = (error: ErrorBody['error']): string => JSON.stringify({ error });

/** A refusal the client should retry after `Retry-After`: the stage's throttle, or Lambda's. */
const tooManyRequests = {
  statusCode: 429,
  template: body({ code: 'TooManyRequests', message: 'Too many requests; retry with backoff', details: [] }),
  headers: { 'Retry-After': String(THROTTLED_RETRY_AFTER_SECONDS) },
} as const;

/** The body a handler would answer for the same error, so both sides of the gateway agree. */
const bodyOf = (error: HttpError, details = error.details): string =>
  body({ code: error.code, message: error.message, details });

/** The body with API Gateway's message in place of the static one. */
const withGatewayMessage = (code: string): string =>
  body({ code, message: GATEWAY_MESSAGE, details: [] }).replace(`"${GATEWAY_MESSAGE}"`, GATEWAY_MESSAGE);

/**
 * The body of a gateway response with API Gateway's message substituted, as the local REST
 * gateway answers it.
 */
export const renderGatewayResponse = (template: string, message: string): string =>
  template.replace(GATEWAY_MESSAGE, JSON.stringify(message));

/**
 * Error bodies in the contract's shape (`{"error":{"code","message","details"}}`) for what API
 * Gateway answers itself, deployed by `infra/aws/rest-api.ts` and answered alike by the local REST
 * gateway. Gateway responses belong to the whole API and their templates cannot
 * branch, so the 401 names every credential header an authorizer reads, each with the routes
 * that need it. Request bodies are validated by the handlers (zod, field-level details, the
 * 256 KiB limit answered as 413); API Gateway only refuses bodies past its own 10 MB limit.
 */
export const gatewayResponses = (
  routes: readonly RouteSpec[],
  authorizers: Readonly<Record<string, AuthorizerSpec>>,
): GatewayResponseSpec[] => {
  const credentialDetails = Object.entries(authorizers)
    .map(([key, authorizer]) => ({
      header: authorizer.identityHeader.toLowerCase(),
      routes: routes.filter((route) => route.authorizer === key).map((r) => `${r.method} ${r.path}`),
    }))
    .filter(({ routes: used }) => used.length > 0)
    .map(({ header, routes: used }) => ({
      path: header,
      message: `must hold valid credentials for ${used.join(', ')}`,
    }));

  return [
    {
      type: 'UNAUTHORIZED',
      statusCode: 401,
      template: bodyOf(new UnauthorizedError(), credentialDetails),
    },
    {
      type: 'ACCESS_DENIED',
      statusCode: 403,
      template: bodyOf(new ForbiddenError('These credentials do not grant access to this call')),
    },
    {
      type: 'MISSING_AUTHENTICATION_TOKEN',
      statusCode: 404,
      template: bodyOf(new NotFoundError('No route matches this method and path')),
    },
    {
      type: 'REQUEST_TOO_LARGE',
      statusCode: 413,
      template: bodyOf(new PayloadTooLargeError(MAX_BODY_BYTES)),
    },
    { type: 'THROTTLED', ...tooManyRequests },
    // A Lambda proxy integration throttled by Lambda (`TooManyRequestsException`) is an integration
    // failure to API Gateway (500 by default); the function never ran, so the client is told to
    // retry as for the stage's throttle. On AWS the same type also covers Lambda's service errors,
    // which are as safe to retry.
    { type: 'INTEGRATION_FAILURE', ...tooManyRequests },
    // A Lambda authorizer throttled the same way is, to API Gateway, an authorizer it could not
    // reach: the request never got as far as its route.
    { type: 'AUTHORIZER_CONFIGURATION_ERROR', ...tooManyRequests },
    {
      type: 'INTEGRATION_TIMEOUT',
      statusCode: 504,
      template: body({
        code: 'GatewayTimeout',
        message: `No answer within ${INTEGRATION_TIMEOUT_SECONDS} seconds; the request may still complete, so retry only what is safe to repeat`,
        details: [],
      }),
    },
    { type: 'DEFAULT_4XX', template: withGatewayMessage('BadRequest') },
    {
      type: 'DEFAULT_5XX',
      template: body({
        code: 'InternalError',
        message: 'The request could not be completed; it is safe to retry',
        details: [],
      }),
    },
  ];
};
