import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { BucketSize, ReadingsQuery, type StoredReading } from '../../schemas/reading.ts';
import { principalOf, requireDevice } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import { json, validate, withErrors } from '../lib/http.ts';
import { canonicalTimestamp } from '../lib/ids.ts';
import { dynamoReadings, type ReadingItem, type ReadingsStore } from '../lib/readings-store.ts';
import { dynamoRollups, type RollupsStore } from '../lib/rollups-store.ts';
import { aggregatesPage } from './aggregates.ts';

export const DEFAULT_PAGE_SIZE = 100;

const Cursor = z.strictObject({ after: z.iso.datetime() });
const BucketCursor = z.strictObject({ bucket: BucketSize, after: z.iso.datetime() });

const badCursor = () =>
  new ValidationError('Query is not valid', [{ path: 'cursor', message: 'is not a cursor this API issued' }]);

const cursorJson = (cursor: string): unknown => {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
};

/** Cursors are opaque to callers: base64url of the last timestamp served. */
export const encodeCursor = (after: string): string =>
  Buffer.from(JSON.stringify({ after })).toString('base64url');

/** A page of buckets continues after the last bucket's start, for the same bucket size only. */
export const encodeBucketCursor = (bucket: BucketSize, after: string): string =>
  Buffer.from(JSON.stringify({ bucket, after })).toString('base64url');

const decodeCursor = (cursor: string): string => {
  const parsed = Cursor.safeParse(cursorJson(cursor));
  if (!parsed.success) throw badCursor();
  return parsed.data.after;
};

const decodeBucketCursor = (cursor: string, bucket: BucketSize): string => {
  const parsed = BucketCursor.safeParse(cursorJson(cursor));
  if (!parsed.success || parsed.data.bucket !== bucket) throw badCursor();
  return parsed.data.after;
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
  readonly rollups: Pick<RollupsStore, 'range'>;
  deviceExists(deviceId: string): Promise<boolean>;
}

/**
 * `GET /devices/{deviceId}/readings?from&to&limit&cursor`: a device's readings, oldest first; with
 * `bucket`, its buckets from the rollups instead.
 */
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
    if (query.bucket) {
      const bucket = query.bucket;
      const aggregates = await aggregatesPage(deps.rollups, deviceId, {
        size: bucket,
        from,
        to,
        after: query.cursor ? decodeBucketCursor(query.cursor, bucket) : undefined,
        limit,
      });
      const lastBucket = aggregates.items.at(-1);
      return json(200, {
        items: aggregates.items,
        nextCursor: aggregates.more && lastBucket ? encodeBucketCursor(bucket, lastBucket.start) : null,
      });
    }
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
  rollups: dynamoRollups(dynamo, requireEnv('ROLLUPS_TABLE')),
  deviceExists: async (deviceId) => (await devices.get(deviceId)) !== undefined,
});
