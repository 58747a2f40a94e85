import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type DeviceKeyDeps, deviceOfKey } from '../authorizers/device-keys.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDeviceKeys } from '../lib/device-keys-store.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { requireEnv, requirePositiveNumberEnv } from '../lib/env.ts';
import { UnauthorizedError } from '../lib/errors.ts';
import { headerOf, json, type ProxyEvent, parseJsonBody, withErrors } from '../lib/http.ts';
import { logger } from '../lib/logger.ts';
import { dynamoReadings } from '../lib/readings-store.ts';
import { type AdviceDeps, adviseUploads } from './advice.ts';
import { answerOf } from './answer.ts';
import { type IngestDeps, ingest } from './ingest.ts';
import { type Claim, claimOf, type FirstReads, type ReadAheadPorts, readAhead } from './read-ahead.ts';
import { parseIngestRequest } from './request.ts';

/** The correlation id a caller sent, if it is sane; otherwise the API Gateway request id. */
export const correlationIdOf = (event: Pick<ProxyEvent, 'headers' | 'requestContext'>): string => {
  const sent = headerOf(event, 'x-correlation-id');
  return sent && /^[A-Za-z0-9._:-]{1,128}$/.test(sent) ? sent : event.requestContext.requestId;
};

/** The header a device sends its API key in. */
const API_KEY_HEADER = 'x-api-key';

/** The 401 of a missing or refused key: the body API Gateway's UNAUTHORIZED response answered when an authorizer checked it. */
const unauthorized = () =>
  new UnauthorizedError(undefined, [
    { path: API_KEY_HEADER, message: 'must hold valid credentials for POST /readings' },
  ]);

/** The ingest ports, the device-key check, the clock the request is validated and stamped against, and the retention. */
export interface IngestHandlerDeps extends IngestDeps, AdviceDeps, DeviceKeyDeps {
  now(): Date;
  readonly retentionDays: number;
  /** The key check's, the advice's and an hour's first read for one request, read at once where the body's claim allows (see `read-ahead.ts`). */
  readAhead(claim: Claim | undefined): ReadAheadPorts;
}

/** A body parsed, or what parsing it threw, to be answered once the key is checked. */
const parsedBody = (event: APIGatewayProxyEventV2): { value: unknown } | { error: unknown } => {
  try {
    return { value: parseJsonBody(event) };
  } catch (error) {
    return { error };
  }
};

/**
 * POST /readings, behind the HTTP API (payload format 2.0). There is no API Gateway authorizer on
 * the route: the function checks the `x-api-key` itself, with the device-key use case, and answers
 * a refused key 401 before anything about the body. An HTTP API Lambda authorizer would answer a
 * refused key 403 (its simple response `isAuthorized: false`) where the contract says 401, and
 * would be a second invocation per request, since its answer cannot be cached (a deleted device's
 * key, or a rotated key past its grace, is refused on the very next request). The key's record is
 * read together with what the body claims (`read-ahead.ts`).
 */
export const makeHandler = (deps: IngestHandlerDeps) =>
  withErrors(async (event: APIGatewayProxyEventV2) => {
    const apiKey = headerOf(event, API_KEY_HEADER);
    if (apiKey === undefined) throw unauthorized();
    const body = parsedBody(event);
    const reads = { ...deps, ...deps.readAhead('value' in body ? claimOf(body.value) : undefined) };
    const deviceId = await deviceOfKey(apiKey, reads);
    if (!deviceId) throw unauthorized();
    if ('error' in body) throw body.error;
    const now = deps.now();
    const { retentionDays } = deps;
    const request = parseIngestRequest(body.value, deviceId, { now, retentionDays });
    const { watched, advice } = await adviseUploads(deviceId, now, reads);
    const context = {
      correlationId: correlationIdOf(event),
      uploadId: randomUUID(),
      receivedAt: now,
      retentionDays,
      watched,
    };
    const outcomes = await ingest(request.valid, context, reads);
    const answer = answerOf(request, outcomes, advice);
    return json(answer.statusCode, answer.body);
  });

const readings = dynamoReadings(dynamo, requireEnv('READINGS_TABLE'));
const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));
const keys = dynamoDeviceKeys(dynamo, requireEnv('DEVICE_KEYS_TABLE'));
const retentionDays = requirePositiveNumberEnv('READINGS_RETENTION_DAYS');

const firstReads: FirstReads = {
  key: keys.read,
  uploadView: devices.uploadViewRead,
  hour: (deviceId, hour) => readings.hourRead(deviceId, hour, false),
};

export const liveIngestDeps = (): IngestHandlerDeps => {
  const deps: Omit<IngestHandlerDeps, 'readAhead'> = {
    saveIfAbsent: readings.saveIfAbsent,
    readHour: readings.readHour,
    appendToHour: readings.appendToHour,
    createHour: readings.createHour,
    probeHour: readings.probeHour,
    markFull: readings.markFull,
    warn: (message, context) => logger().warn(message, context),
    uploadView: devices.uploadView,
    keyByHash: (hash) => keys.get(hash),
    deviceWithCurrentKey: async (hash) => {
      const deviceId = await devices.findByKeyHash(hash);
      return deviceId !== undefined && (await devices.currentKeyHash(deviceId)) === hash
        ? deviceId
        : undefined;
    },
    now: () => new Date(),
    retentionDays,
  };
  return { ...deps, readAhead: (claim) => readAhead(dynamo, firstReads, deps, claim) };
};

export const handler = makeHandler(liveIngestDeps());
