import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { ReadingsQuery, type StoredReading } from '../../schemas/reading.ts';
import { principalOf, requireDevice } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import { json, validate, withErrors } from '../lib/http.ts';
import { canonicalTimestamp } from '../lib/ids.ts';
import { dynamoReadings, type ReadingItem, type ReadingsStore } from '../lib/readings-store.ts';

export const DEFAULT_PAGE_SIZE = 100;

const Cursor = z.strictObject({ after: z.iso.datetime() });

/** Cursors are opaque to callers: base64url of the last timestamp served. */
export const encodeCursor = (after: string): string =>
  Buffer.from(JSON.stringify({ after })).toString('base64url');

const decodeCursor = (cursor: string): string => {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).after;
  } catch {
    throw new ValidationError('Query is not valid', [
      { path: 'cursor', message: 'is not a cursor this API issued' },
    ]);
  }
};

const toStoredReading = (item: ReadingItem): StoredReading => ({
  deviceId: item.deviceId,
  timestamp: item.timestamp,
  metrics: item.metrics,
  ...(item.sequence !== undefined ? { sequence: item.sequence } : {}),
  receivedAt: item.receivedAt,
  ...(item.enrichment ? { enrichment: item.enrichment } : {}),
  ...(item.enrichmentError
    ? { enrichmentError: { error: item.enrichmentError.error, cause: item.enrichmentError.cause } }
    : {}),
});

export interface HistoryDeps {
  readonly readings: Pick<ReadingsStore, 'page'>;
  deviceExists(deviceId: string): Promise<boolean>;
}

/** `GET /devices/{deviceId}/readings?from&to&limit&cursor`: a device's readings, oldest first. */
export const makeHandler = (deps: HistoryDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const deviceId = validate(DeviceId, event.pathParameters?.deviceId, ['deviceId']);
    requireDevice(principal, deviceId);
    const query = validate(ReadingsQuery, event.queryStringParameters ?? {});
    const from = query.from && canonicalTimestamp(query.from);
    const to = query.to && canonicalTimestamp(query.to);
    if (from && to && from > to) {
      throw new ValidationError('Query is not valid', [{ path: 'from', message: 'must not be after `to`' }]);
    }
    if (!(await deps.deviceExists(deviceId))) throw new NotFoundError(`Device ${deviceId} is not registered`);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const page = await deps.readings.page(deviceId, {
      limit,
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
    });
    const last = page.items.at(-1);
    return json(200, {
      items: page.items.map(toStoredReading),
      nextCursor: page.more && last ? encodeCursor(last.timestamp) : null,
    });
  });

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  readings: dynamoReadings(dynamo, requireEnv('READINGS_TABLE')),
  deviceExists: async (deviceId) => (await devices.get(deviceId)) !== undefined,
});
