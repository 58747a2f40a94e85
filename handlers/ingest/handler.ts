import type { APIGatewayProxyEvent } from 'aws-lambda';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { requireEnv } from '../lib/env.ts';
import { UnauthorizedError } from '../lib/errors.ts';
import { publishEntries } from '../lib/events.ts';
import { headerOf, json, parseJsonBody, withErrors } from '../lib/http.ts';
import { logger } from '../lib/logger.ts';
import { dynamoReadings } from '../lib/readings-store.ts';
import { type IngestDeps, ingest } from './ingest.ts';

/** The correlation id a caller sent, if it is sane; otherwise the API Gateway request id. */
export const correlationIdOf = (event: APIGatewayProxyEvent): string => {
  const sent = headerOf(event, 'x-correlation-id');
  return sent && /^[A-Za-z0-9._:-]{1,128}$/.test(sent) ? sent : event.requestContext.requestId;
};

/** POST /readings. The device-key authorizer has put the key's device id in the context. */
export const makeHandler = (deps: IngestDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const deviceId = event.requestContext.authorizer?.deviceId;
    if (typeof deviceId !== 'string') throw new UnauthorizedError('Missing or invalid API key');
    const body = parseJsonBody(event);
    const answer = await ingest(body, deviceId, correlationIdOf(event), deps);
    return json(answer.statusCode, answer.body);
  });

const readings = dynamoReadings(dynamo, requireEnv('READINGS_TABLE'));

export const liveIngestDeps = (): IngestDeps => ({
  saveIfAbsent: readings.saveIfAbsent,
  clearOutboxMark: readings.clearOutboxMark,
  publish: (entries) => publishEntries(eventBridge, entries),
  warn: (message, context) => logger.warn(message, context),
  busName: requireEnv('TELEMETRY_BUS'),
  now: () => new Date(),
});

export const handler = makeHandler(liveIngestDeps());
