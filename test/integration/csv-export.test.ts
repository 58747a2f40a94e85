import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapWithLimit } from '../../handlers/lib/concurrency.ts';
import { EXPORT_PAGE_READINGS } from '../../handlers/readings/csv.ts';
import { tables } from '../../infra/topology.ts';
import { AggregatesPage } from '../../schemas/reading.ts';
import { edgeDynamo, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
}, 60_000);
afterAll(() => t.stop());

/** The records of a CSV file with no quoted fields (numbers, timestamps and metric names), CRLF-ended. */
const records = (text: string): string[][] => {
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\r\n')
    .map((row) => row.split(','));
};

/** A request of the device's history with a viewer token scoped to that device alone. */
const exportOf = async (deviceId: string, query: string, init: { headers?: Record<string, string> } = {}) =>
  t.api(`/devices/${deviceId}/readings?${query}`, { token: await t.viewerToken([deviceId]), ...init });

/** Posts one upload, retrying a 5xx as devices do (a function starting cold on a loaded machine may answer 502). */
const post = async (apiKey: string, body: unknown) => {
  let status = 0;
  let answer = '';
  for (let attempt = 1; attempt <= 5 && (status === 0 || status >= 500); attempt++) {
    const response = await t.api('/readings', { method: 'POST', apiKey, json: body });
    status = response.status;
    answer = await response.text();
  }
  expect(status, answer).toBe(202);
};

/** Readings written straight into the table, as ingest stores them, 25 a request. */
const seed = async (
  deviceId: string,
  readings: readonly { timestamp: string; metrics: Record<string, number> }[],
) => {
  const dynamo = edgeDynamo(t.cloud);
  const batches = Array.from({ length: Math.ceil(readings.length / 25) }, (_, b) => b * 25);
  await mapWithLimit(batches, 4, async (i) => {
    let pending: Record<string, unknown>[] = readings.slice(i, i + 25).map((reading, j) => ({
      PutRequest: {
        Item: {
          deviceId,
          ...reading,
          receivedAt: reading.timestamp,
          readingId: `${deviceId}-${i + j}`,
          correlationId: `${deviceId}-${i + j}`,
        },
      },
    }));
    while (pending.length > 0) {
      const result = await dynamo.send(
        new BatchWriteCommand({ RequestItems: { [tables.readings.name]: pending } }),
      );
      pending = result.UnprocessedItems?.[tables.readings.name] ?? [];
    }
  });
};

describe('CSV export of a device history', () => {
  it('streams the readings posted as CSV rows, oldest first, with a header of every metric of the range', async () => {
    const deviceId = 'csv-posted';
    const apiKey = await t.registerDevice(deviceId);
    await post(apiKey, {
      readings: [
        { deviceId, timestamp: '2026-11-24T10:00:02+01:00', metrics: { temperature: -3.5, humidity: 40 } },
        { deviceId, timestamp: '2026-11-24T09:00:00Z', metrics: { temperature: 21.25 } },
        { deviceId, timestamp: '2026-11-24T09:00:01.5Z', metrics: { co2: 1e-7, humidity: 41 } },
      ],
    });
    await post(apiKey, {
      deviceId,
      timestamp: '2026-11-24T08:59:59.999Z',
      metrics: { temperature: 123456789.125 },
    });

    const response = await exportOf(deviceId, 'from=2026-11-24T09:00:00Z&to=2026-11-24T10:00:00Z&format=csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="${deviceId}-readings.csv"`,
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(records(await response.text())).toEqual([
      ['timestamp', 'co2', 'humidity', 'temperature'],
      ['2026-11-24T09:00:00.000Z', '', '', '21.25'],
      ['2026-11-24T09:00:01.500Z', '1e-7', '41', ''],
      ['2026-11-24T09:00:02.000Z', '', '40', '-3.5'],
    ]);

    const byAccept = await exportOf(deviceId, 'to=2026-11-24T09:00:00Z', {
      headers: { accept: 'application/json;q=0.5, text/csv' },
    });
    expect(byAccept.status).toBe(200);
    expect(records(await byAccept.text())).toEqual([
      ['timestamp', 'temperature'],
      ['2026-11-24T08:59:59.999Z', '123456789.125'],
      ['2026-11-24T09:00:00.000Z', '21.25'],
    ]);

    // `format=json` wins over Accept, and the JSON answers of the route are unchanged.
    const asJson = await exportOf(deviceId, 'format=json&limit=2', { headers: { accept: 'text/csv' } });
    expect(asJson.status).toBe(200);
    expect(asJson.headers.get('content-type')).toBe('application/json');
    const page = (await asJson.json()) as { items: { timestamp: string }[]; nextCursor: string | null };
    expect(page.items.map((item) => item.timestamp)).toEqual([
      '2026-11-24T08:59:59.999Z',
      '2026-11-24T09:00:00.000Z',
    ]);
    expect(page.nextCursor).not.toBeNull();
  }, 120_000);

  it('writes every reading of a range spanning many Query pages once, in order, with a metric only the last page has', async () => {
    const deviceId = 'csv-many-pages';
    await t.registerDevice(deviceId);
    const start = Date.parse('2026-10-01T00:00:00.000Z');
    const wide = Object.fromEntries(
      Array.from({ length: 12 }, (_, m) => [`m${String(m).padStart(2, '0')}`, m + 0.5]),
    );
    // The export reads EXPORT_PAGE_READINGS a Query: these take three pages, the last one the only with `late`.
    const count = 2 * EXPORT_PAGE_READINGS + 500;
    const readings = Array.from(
      { length: count },
      (_, i): { timestamp: string; metrics: Record<string, number> } => ({
        timestamp: new Date(start + i * 10_000).toISOString(),
        metrics: i === count - 1 ? { late: -i } : { ...wide, m00: i },
      }),
    );
    await seed(deviceId, readings);

    const response = await exportOf(deviceId, 'format=csv');
    expect(response.status).toBe(200);
    const rows = records(await response.text());
    const columns = ['late', ...Object.keys(wide)];
    expect(rows[0]).toEqual(['timestamp', ...columns]);
    expect(rows.slice(1)).toEqual(
      readings.map((reading) => [
        reading.timestamp,
        ...columns.map((column) =>
          (reading.metrics[column as keyof typeof reading.metrics] ?? '').toString(),
        ),
      ]),
    );
  }, 180_000);

  it('answers a range without readings with the header alone', async () => {
    const deviceId = 'csv-empty';
    await t.registerDevice(deviceId);
    const readings = await exportOf(deviceId, 'from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&format=csv');
    expect(readings.status).toBe(200);
    expect(await readings.text()).toBe('timestamp\r\n');
    const buckets = await exportOf(deviceId, 'bucket=1h&format=csv');
    expect(buckets.status).toBe(200);
    expect(await buckets.text()).toBe('start,end\r\n');
  }, 60_000);

  it('exports buckets as the JSON answers them: start, end and min, max, avg, count of each metric', async () => {
    const deviceId = 'csv-buckets';
    const apiKey = await t.registerDevice(deviceId);
    await post(apiKey, {
      readings: [
        { deviceId, timestamp: '2026-11-24T09:10:00Z', metrics: { t: 1, h: 50 } },
        { deviceId, timestamp: '2026-11-24T09:20:00Z', metrics: { t: 3 } },
        { deviceId, timestamp: '2026-11-24T11:05:00Z', metrics: { t: -2 } },
      ],
    });
    await waitFor(
      async () => {
        const response = await exportOf(deviceId, 'bucket=1h');
        const page = AggregatesPage.parse(await response.json());
        return page.items.length === 2 && page.items[1]?.metrics.t?.count === 1;
      },
      'the rollups of the readings',
      60_000,
    );

    const response = await exportOf(deviceId, 'bucket=1h&format=csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="${deviceId}-readings-1h.csv"`,
    );
    expect(records(await response.text())).toEqual([
      ['start', 'end', 'h_min', 'h_max', 'h_avg', 'h_count', 't_min', 't_max', 't_avg', 't_count'],
      ['2026-11-24T09:00:00.000Z', '2026-11-24T10:00:00.000Z', '50', '50', '50', '1', '1', '3', '2', '2'],
      ['2026-11-24T11:00:00.000Z', '2026-11-24T12:00:00.000Z', '', '', '', '', '-2', '-2', '-2', '1'],
    ]);
  }, 60_000);

  it('refuses a bad request before the first byte with JSON naming the field, and authorizes as the JSON route', async () => {
    const deviceId = 'csv-refusals';
    await t.registerDevice(deviceId);
    const cases = [
      ['format=xml', 'format'],
      ['format=CSV', 'format'],
      ['format=csv&limit=10', 'limit'],
      ['format=csv&cursor=abc', 'cursor'],
      ['format=csv&bucket=2m', 'bucket'],
      ['format=csv&from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z', 'from'],
      ['format=csv&to=tomorrow', 'to'],
    ] as const;
    for (const [query, field] of cases) {
      const response = await exportOf(deviceId, query);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toMatchObject({
        error: { code: 'ValidationError', details: [expect.objectContaining({ path: field })] },
      });
    }

    const unknown = await exportOf('csv-nobody', 'format=csv');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'NotFound' } });

    const anonymous = await t.api(`/devices/${deviceId}/readings?format=csv`);
    expect(anonymous.status).toBe(401);
    const otherDevice = await t.api(`/devices/${deviceId}/readings?format=csv`, {
      token: await t.viewerToken(['csv-posted']),
    });
    expect(otherDevice.status).toBe(403);
    expect(await otherDevice.text()).not.toContain('timestamp');
  }, 60_000);
});
