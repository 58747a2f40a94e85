import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { AggregatesPage } from '../../schemas/reading.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
let viewer: string;
beforeAll(async () => {
  t = await startTestCloud();
  viewer = await t.viewerToken('*');
}, 60_000);
afterAll(() => t.stop());

const SIZES = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
};
type Size = keyof typeof SIZES;

interface Posted {
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
}

/** The buckets computed straight from the readings, the way a spreadsheet would. */
const expectedBuckets = (readings: readonly Posted[], size: Size) => {
  const byStart = new Map<number, Posted[]>();
  for (const reading of readings) {
    const ms = Date.parse(reading.timestamp);
    const start = ms - (ms % SIZES[size]);
    byStart.set(start, [...(byStart.get(start) ?? []), reading]);
  }
  return [...byStart.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, inBucket]) => {
      const ordered = [...inBucket].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
      const names = [...new Set(ordered.flatMap((reading) => Object.keys(reading.metrics)))].sort();
      return {
        start: new Date(start).toISOString(),
        end: new Date(start + SIZES[size]).toISOString(),
        metrics: Object.fromEntries(
          names.map((name) => {
            const values = ordered.flatMap((reading) =>
              reading.metrics[name] === undefined ? [] : [{ value: reading.metrics[name] }],
            );
            const numbers = values.map(({ value }) => value);
            return [
              name,
              {
                min: Math.min(...numbers),
                max: Math.max(...numbers),
                avg: numbers.reduce((sum, value) => sum + value, 0) / numbers.length,
                count: numbers.length,
                first: numbers[0],
                last: numbers.at(-1),
              },
            ];
          }),
        ),
      };
    });
};

/** Every bucket of a range, page by page, with the number of requests it took. */
const allBuckets = async (deviceId: string, query: string) => {
  const items: unknown[] = [];
  let cursor: string | null = null;
  let requests = 0;
  do {
    const response = await t.api(
      `/devices/${deviceId}/readings?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { token: viewer },
    );
    requests++;
    expect(response.status).toBe(200);
    const page = AggregatesPage.parse(await response.json());
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return { items, requests };
};

const totalCount = (items: readonly unknown[]) =>
  AggregatesPage.shape.items
    .parse(items)
    .reduce(
      (sum, bucket) => sum + Object.values(bucket.metrics).reduce((n, metric) => n + metric.count, 0),
      0,
    );

/** Numbers compared exactly but for `avg`, whose sum is added in another order than the test's. */
const roundedAvg = (items: readonly unknown[]) =>
  AggregatesPage.shape.items.parse(items).map((bucket) => ({
    ...bucket,
    metrics: Object.fromEntries(
      Object.entries(bucket.metrics).map(([name, metric]) => [
        name,
        { ...metric, avg: Number(metric.avg.toPrecision(10)) },
      ]),
    ),
  }));

/**
 * Posts each upload, retrying a 5xx or a 429 as devices do (a function starting cold on a loaded
 * machine may answer 502; one whose environments are all busy is throttled, 429 with Retry-After).
 */
const postAll = async (apiKey: string, deviceId: string, uploads: readonly (readonly Posted[])[]) => {
  const retried = (status: number) => status === 0 || status === 429 || status >= 500;
  for (const upload of uploads) {
    const readings = upload.map((reading) => ({ deviceId, ...reading }));
    let status = 0;
    for (let attempt = 1; attempt <= 8 && retried(status); attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      const response = await t.api('/readings', {
        method: 'POST',
        apiKey,
        json: readings.length === 1 ? readings[0] : { readings },
      });
      status = response.status;
    }
    expect(status).toBe(202);
  }
};

const metricValue = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc
    .double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
    .filter((v) => v === 0 || Math.abs(v) >= 1e-6),
);

/** Readings over four hours around a UTC midnight, a few metrics each, some missing a metric. */
const readingsArbitrary = fc
  .uniqueArray(fc.integer({ min: -2 * 3_600_000, max: 2 * 3_600_000 - 1 }), {
    minLength: 1,
    maxLength: 40,
  })
  .chain((offsets) =>
    fc.tuple(
      ...offsets.map((offset) =>
        fc
          .record({ t: metricValue, h: fc.option(metricValue, { nil: undefined }) })
          .map(({ t, h }): Posted => {
            const metrics: Record<string, number> = h === undefined ? { t } : { t, h };
            return {
              timestamp: new Date(Date.parse('2026-11-24T00:00:00.000Z') + offset).toISOString(),
              metrics,
            };
          }),
      ),
    ),
  );

let runs = 0;

describe('history in buckets', () => {
  it('aggregates equal those computed from the raw readings, whatever order, batching and repeats they are posted in', async () => {
    await fc.assert(
      fc.asyncProperty(
        readingsArbitrary,
        fc.integer({ min: 1, max: 10 }),
        fc.nat(),
        fc.nat({ max: 5 }),
        async (readings, batch, seed, repeats) => {
          const deviceId = `history-${++runs}`;
          const apiKey = await t.registerDevice(deviceId);
          // Late and out of order: the posting order is a shuffle of the timestamps.
          const shuffled = [...readings].sort(
            (a, b) =>
              ((Date.parse(a.timestamp) * 7 + seed) % 101) - ((Date.parse(b.timestamp) * 7 + seed) % 101),
          );
          const uploads: Posted[][] = [];
          for (let i = 0; i < shuffled.length; i += batch) uploads.push(shuffled.slice(i, i + batch));
          // Duplicates: some uploads are posted again, which stores nothing.
          const again = uploads.slice(0, repeats);
          await postAll(apiKey, deviceId, [...uploads, ...again]);

          const range = 'from=2026-11-23T20:00:00Z&to=2026-11-24T04:00:00Z';
          const readingCount = readings.reduce((n, r) => n + Object.keys(r.metrics).length, 0);
          // 1h and 6h are stored as the stream consumer folds readings in; 1m, 5m and 15m are
          // computed from the readings when asked, and must equal what the stored ones give.
          await waitFor(
            async () =>
              (
                await Promise.all(
                  ['1h', '6h'].map(
                    async (size) =>
                      totalCount((await allBuckets(deviceId, `${range}&bucket=${size}&limit=1000`)).items) ===
                      readingCount,
                  ),
                )
              ).every(Boolean),
            'the rollups to count every reading',
            30_000,
          );
          for (const size of Object.keys(SIZES) as Size[]) {
            const { items } = await allBuckets(deviceId, `${range}&bucket=${size}&limit=1000`);
            // Through JSON, as the API answers: -0 is written 0.
            expect(roundedAvg(items)).toEqual(
              roundedAvg(JSON.parse(JSON.stringify(expectedBuckets(readings, size)))),
            );
          }
        },
      ),
      { numRuns: 4, endOnFailure: true },
    );
  }, 300_000);

  it('places buckets at UTC boundaries: the last millisecond of a day and the first of the next are in different days', async () => {
    const deviceId = 'history-utc';
    const apiKey = await t.registerDevice(deviceId);
    await postAll(apiKey, deviceId, [
      [
        { timestamp: '2026-11-23T23:59:59.999Z', metrics: { t: 1 } },
        { timestamp: '2026-11-24T00:00:00.000+00:00', metrics: { t: 2 } },
        { timestamp: '2026-11-24T01:30:00.000+01:00', metrics: { t: 3 } },
      ],
    ]);

    const days = await waitFor(
      async () => {
        const { items } = await allBuckets(deviceId, 'bucket=1d');
        return totalCount(items) === 3 && AggregatesPage.shape.items.parse(items);
      },
      'the rollups of three readings',
      30_000,
    );

    expect(days.map(({ start, end, metrics }) => ({ start, end, count: metrics.t?.count }))).toEqual([
      { start: '2026-11-23T00:00:00.000Z', end: '2026-11-24T00:00:00.000Z', count: 1 },
      { start: '2026-11-24T00:00:00.000Z', end: '2026-11-25T00:00:00.000Z', count: 2 },
    ]);
    expect(days[1]?.metrics.t).toMatchObject({ first: 2, last: 3 });
  }, 60_000);

  it('pages with nextCursor, oldest first, each bucket once, and answers the buckets a range overlaps whole', async () => {
    const deviceId = 'history-paging';
    const apiKey = await t.registerDevice(deviceId);
    const readings = Array.from({ length: 30 }, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-20T10:00:00Z') + i * 15 * 60_000).toISOString(),
      metrics: { t: i },
    }));
    await postAll(apiKey, deviceId, [readings.slice(0, 15), readings.slice(15)]);
    await waitFor(
      async () => totalCount((await allBuckets(deviceId, 'bucket=1h&limit=1000')).items) === 30,
      'the rollups of thirty readings',
      30_000,
    );

    const paged = await allBuckets(deviceId, 'bucket=1h&limit=3');
    const within = await allBuckets(deviceId, 'bucket=1h&from=2026-11-20T11:20:00Z&to=2026-11-20T12:05:00Z');
    const computed = await allBuckets(deviceId, 'bucket=5m&limit=7');
    const computedWithin = await allBuckets(
      deviceId,
      'bucket=5m&from=2026-11-20T11:20:00Z&to=2026-11-20T12:05:00Z',
    );

    expect(paged.requests).toBe(3);
    expect(paged.items).toEqual(JSON.parse(JSON.stringify(expectedBuckets(readings, '1h'))));
    expect(computed.requests).toBe(5);
    expect(computed.items).toEqual(JSON.parse(JSON.stringify(expectedBuckets(readings, '5m'))));
    expect(AggregatesPage.shape.items.parse(computedWithin.items).map((b) => b.start)).toEqual([
      '2026-11-20T11:30:00.000Z',
      '2026-11-20T11:45:00.000Z',
      '2026-11-20T12:00:00.000Z',
    ]);
    expect(AggregatesPage.shape.items.parse(within.items).map((b) => [b.start, b.metrics.t?.count])).toEqual([
      ['2026-11-20T11:00:00.000Z', 4],
      ['2026-11-20T12:00:00.000Z', 4],
    ]);
  }, 60_000);

  it('answers 400 naming the field for a bad bucket, range or cursor', async () => {
    const deviceId = 'history-refusals';
    await t.registerDevice(deviceId);
    const bucketCursor = Buffer.from(
      JSON.stringify({ bucket: '1h', after: '2026-11-20T10:00:00.000Z' }),
    ).toString('base64url');
    const cases = [
      ['bucket=2m', 'bucket'],
      ['bucket=', 'bucket'],
      ['bucket=1h&from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z', 'from'],
      ['bucket=1h&from=yesterday', 'from'],
      ['bucket=1h&cursor=not-a-cursor', 'cursor'],
      [`bucket=1d&cursor=${bucketCursor}`, 'cursor'],
      [`cursor=${bucketCursor}`, 'cursor'],
      ['bucket=1h&limit=0', 'limit'],
    ] as const;

    for (const [query, field] of cases) {
      const response = await t.api(`/devices/${deviceId}/readings?${query}`, { token: viewer });
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(await response.json()).toMatchObject({
        error: { code: 'ValidationError', details: [expect.objectContaining({ path: field })] },
      });
    }
  });

  it('counts a stream batch delivered again once: the rollups hold each reading once', async () => {
    const deviceId = 'history-redelivered';
    const apiKey = await t.registerDevice(deviceId);
    const readings = Array.from({ length: 5 }, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-21T08:00:00Z') + i * 20_000).toISOString(),
      metrics: { t: 10 + i },
    }));
    // The first upload of two makes the hour item (INSERT); each later lone reading is packed into
    // the item it finds open (MODIFY).
    const [r0, r1, ...lone] = readings;
    if (!r0 || !r1) throw new Error('five readings');
    await postAll(apiKey, deviceId, [[r0, r1], ...lone.map((reading) => [reading])]);
    const before = await waitFor(
      async () => {
        const { items } = await allBuckets(deviceId, 'bucket=1h');
        return totalCount(items) === 5 && items;
      },
      'the rollups of five readings',
      30_000,
    );

    // The same records Lambda delivered, read back from the stream and delivered again.
    const streams = new DynamoDBStreamsClient(edgeClientConfig(t.cloud));
    const [stream] =
      (await streams.send(new ListStreamsCommand({ TableName: tables.readings.name }))).Streams ?? [];
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: stream?.StreamArn }));
    const shard = described.StreamDescription?.Shards?.[0];
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: stream?.StreamArn,
        ShardId: shard?.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
    const own = Records.filter((record) => record.dynamodb?.Keys?.deviceId?.S === deviceId);
    expect(own.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY', 'MODIFY']);
    await t.cloud.lambda.invoke('rollups', { Records: own });
    await t.cloud.lambda.invoke('rollups', { Records: own.slice(2) });

    expect((await allBuckets(deviceId, 'bucket=1h')).items).toEqual(before);
    expect(before).toEqual(JSON.parse(JSON.stringify(expectedBuckets(readings, '1h'))));
    expect((await allBuckets(deviceId, 'bucket=6h')).items).toEqual(
      JSON.parse(JSON.stringify(expectedBuckets(readings, '6h'))),
    );
  }, 60_000);
});
