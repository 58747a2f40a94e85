import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { BucketSize, ReadingsQuery, type StoredReading } from '../../schemas/reading.ts';
import { principalOf, requireDevice } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { dynamoEnrichments, type EnrichmentsStore } from '../lib/enrichments-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import { CORS_HEADERS, headerOf, json, validate, withErrors } from '../lib/http.ts';
import { canonicalTimestamp } from '../lib/ids.ts';
import { dynamoReadings, type ReadingItem, type ReadingsStore } from '../lib/readings-store.ts';
import { dynamoRollups, type RollupsStore } from '../lib/rollups-store.ts';
import { aggregatesPage, allAggregates } from './aggregates.ts';
import {
  bucketRows,
  bucketsHeader,
  type CsvSink,
  EXPORT_PAGE_READINGS,
  readingRows,
  readingsHeader,
  writeCsv,
} from './csv.ts';

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
  readonly readings: Pick<ReadingsStore, 'page' | 'pages' | 'metricNamePages'>;
  /** Joins a page's readings with their enrichment (a CSV export has no enrichment column, so does not). */
  readonly enrichments: Pick<EnrichmentsStore, 'attach'>;
  readonly rollups: Pick<RollupsStore, 'range'>;
  deviceExists(deviceId: string): Promise<boolean>;
}

/** A CSV export, ready to stream: its file name, and how to write it to a sink. */
interface CsvExport {
  readonly filename: string;
  readonly write: (sink: CsvSink) => Promise<void>;
}

/** `format=csv` wins over `Accept`; without `format`, an `Accept` naming `text/csv` asks for CSV. */
const wantsCsv = (event: APIGatewayProxyEvent, format: 'json' | 'csv' | undefined): boolean =>
  format === undefined
    ? (headerOf(event, 'accept') ?? '')
        .split(',')
        .some((range) => range.split(';')[0]?.trim().toLowerCase() === 'text/csv')
    : format === 'csv';

/** An export is every row of the range: page-by-page parameters have no meaning for it. */
const refusePaging = (query: ReadingsQuery) => {
  const paging = (['limit', 'cursor'] as const).filter((name) => query[name] !== undefined);
  if (paging.length > 0)
    throw new ValidationError(
      'Query is not valid',
      paging.map((path) => ({
        path,
        message: 'is not accepted with a CSV export, which holds the whole range',
      })),
    );
};

/**
 * What `GET /devices/{deviceId}/readings` answers: a page of readings (or buckets) as JSON, or a
 * CSV export of the whole range. Everything a request can get wrong is checked here, before a
 * byte of an export is written.
 */
const answer = async (
  deps: HistoryDeps,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult | CsvExport> => {
  const principal = principalOf(event);
  const deviceId = validate(DeviceId, event.pathParameters?.deviceId, ['deviceId']);
  requireDevice(principal, deviceId);
  const query = validate(ReadingsQuery, event.queryStringParameters ?? {});
  const from = query.from && canonicalTimestamp(query.from);
  const to = query.to && canonicalTimestamp(query.to);
  if (from && to && from > to) {
    throw new ValidationError('Query is not valid', [{ path: 'from', message: 'must not be after `to`' }]);
  }
  const csv = wantsCsv(event, query.format);
  if (csv) refusePaging(query);
  if (!(await deps.deviceExists(deviceId))) throw new NotFoundError(`Device ${deviceId} is not registered`);
  const range = { ...(from ? { from } : {}), ...(to ? { to } : {}) };
  if (csv && query.bucket) {
    const size = query.bucket;
    const buckets = () => allAggregates(deps, deviceId, { size, ...range });
    return {
      filename: `${deviceId}-readings-${size}.csv`,
      write: (sink) =>
        writeCsv(
          {
            names: async function* () {
              for await (const page of buckets()) yield page.flatMap((bucket) => Object.keys(bucket.metrics));
            },
            pages: buckets,
            header: bucketsHeader,
            rows: bucketRows,
          },
          sink,
        ),
    };
  }
  if (csv) {
    return {
      filename: `${deviceId}-readings.csv`,
      write: (sink) =>
        writeCsv(
          {
            names: () => deps.readings.metricNamePages(deviceId, range),
            pages: () => deps.readings.pages(deviceId, range, EXPORT_PAGE_READINGS),
            header: readingsHeader,
            rows: readingRows,
          },
          sink,
        ),
    };
  }
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (query.bucket) {
    const bucket = query.bucket;
    const aggregates = await aggregatesPage(deps, deviceId, {
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
    ...range,
    ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
  });
  const last = page.items.at(-1);
  const items = await deps.enrichments.attach(deviceId, page.items);
  return json(200, {
    items: items.map(toStoredReading),
    nextCursor: page.more && last ? encodeCursor(last.timestamp) : null,
  });
};

/** The answer to a request that failed: the error mapped as every handler maps it. */
const failed = (event: APIGatewayProxyEvent, error: unknown): Promise<APIGatewayProxyResult> =>
  withErrors(() => Promise.reject(error))(event);

/**
 * `GET /devices/{deviceId}/readings?from&to&limit&cursor`: a device's readings, oldest first; with
 * `bucket`, its buckets instead (from the rollups, or computed from the readings for 1m, 5m and 15m);
 * with `format=csv` (or `Accept: text/csv`), the whole range as a CSV file, streamed as it is read
 * (https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html). The route streams
 * (`responseTransferMode: STREAM`), so every answer goes out through the response stream: its
 * metadata prelude carries the status and headers. A request error is answered as JSON like any
 * other; a failure once an export started ends the function with an error, which cuts the
 * response short rather than leaving a truncated file looking whole.
 */
export const makeHandler =
  (deps: HistoryDeps, httpStream: HttpStreamFactory) =>
  async (event: APIGatewayProxyEvent, responseStream: Writable): Promise<void> => {
    const planned = await answer(deps, event).catch((error: unknown) => failed(event, error));
    if ('write' in planned) {
      // The status and headers go out before the range is read, so a long range never keeps the
      // gateway waiting for its first byte; every request error was answered above.
      const out = httpStream(responseStream, {
        statusCode: 200,
        headers: {
          ...CORS_HEADERS,
          'content-type': 'text/csv; charset=utf-8; header=present',
          'content-disposition': `attachment; filename="${planned.filename}"`,
        },
      });
      // Each write resolves at once, or once the stream drained: the client's pace holds the reads back.
      await planned.write(async (text) => {
        if (!out.write(text)) await once(out, 'drain');
      });
      out.end();
      return;
    }
    send(httpStream, responseStream, planned);
  };

/** `awslambda.HttpResponseStream.from`: writes the HTTP metadata prelude, then hands back the stream for the body. */
export type HttpStreamFactory = (
  stream: Writable,
  prelude: { statusCode: number; headers: Record<string, string> },
) => Writable;

/** A buffered answer through the response stream: its prelude, then its body at once. */
const send = (httpStream: HttpStreamFactory, stream: Writable, result: APIGatewayProxyResult): void => {
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
  httpStream(stream, { statusCode: result.statusCode, headers }).end(result.body);
};

const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = awslambda.streamifyResponse(
  makeHandler(
    {
      readings: dynamoReadings(dynamo, requireEnv('READINGS_TABLE')),
      enrichments: dynamoEnrichments(dynamo, requireEnv('ENRICHMENTS_TABLE')),
      rollups: dynamoRollups(dynamo, requireEnv('ROLLUPS_TABLE')),
      deviceExists: (deviceId) => devices.isLive(deviceId),
    },
    (stream, prelude) => awslambda.HttpResponseStream.from(stream, prelude),
  ),
);
