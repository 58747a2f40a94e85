import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv, requirePositiveNumberEnv } from '../lib/env.ts';
import { UnauthorizedError } from '../lib/errors.ts';
import { headerOf, json, parseJsonBody, withErrors } from '../lib/http.ts';
import { logger } from '../lib/logger.ts';
import { dynamoReadings } from '../lib/readings-store.ts';
import { isWatched, type WatchingDeps } from '../lib/watching.ts';
import { answerOf } from './answer.ts';
import { bufferSecondsOf, type IngestDeps, ingest } from './ingest.ts';
import { parseIngestRequest } from './request.ts';

/** The correlation id a caller sent, if it is sane; otherwise the API Gateway request id. */
export const correlationIdOf = (event: APIGatewayProxyEvent): string => {
  const sent = headerOf(event, 'x-correlation-id');
  return sent && /^[A-Za-z0-9._:-]{1,128}$/.test(sent) ? sent : event.requestContext.requestId;
};

/** The ingest ports, the clock the request is validated and stamped against, and the retention. */
export interface IngestHandlerDeps extends IngestDeps, WatchingDeps {
  now(): Date;
  readonly retentionDays: number;
}

/** POST /readings. The device-key authorizer has put the key's device id in the context. */
export const makeHandler = (deps: IngestHandlerDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const deviceId = event.requestContext.authorizer?.deviceId;
    if (typeof deviceId !== 'string') throw new UnauthorizedError('Missing or invalid API key');
    const now = deps.now();
    const { retentionDays } = deps;
    const request = parseIngestRequest(parseJsonBody(event), deviceId, { now, retentionDays });
    const watched = await isWatched(deviceId, now, deps);
    const context = {
      correlationId: correlationIdOf(event),
      uploadId: randomUUID(),
      receivedAt: now,
      retentionDays,
      watched,
    };
    const outcomes = await ingest(request.valid, context, deps);
    const answer = answerOf(request, outcomes, bufferSecondsOf(watched));
    return json(answer.statusCode, answer.body);
  });

const readings = dynamoReadings(dynamo, requireEnv('READINGS_TABLE'));
const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const retentionDays = requirePositiveNumberEnv('READINGS_RETENTION_DAYS');

export const liveIngestDeps = (): IngestHandlerDeps => ({
  saveIfAbsent: readings.saveIfAbsent,
  readHour: readings.readHour,
  appendToHour: readings.appendToHour,
  createHour: readings.createHour,
  probeHour: readings.probeHour,
  markFull: readings.markFull,
  warn: (message, context) => logger.warn(message, context),
  watchedUntil: devices.watchedUntil,
  now: () => new Date(),
  retentionDays,
});

export const handler = makeHandler(liveIngestDeps());
