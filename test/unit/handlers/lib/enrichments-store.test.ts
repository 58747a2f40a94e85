import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { deriveUpload } from '../../../../handlers/enrichment/derive.ts';
import { enrichmentItemsOf, withEnrichments } from '../../../../handlers/lib/enrichments-store.ts';
import type { ReadingItem } from '../../../../handlers/lib/readings-store.ts';

const BASE = Date.parse('2026-11-23T09:00:00.000Z');
/** The instant `minutes` after 09:00Z. */
const minute = (minutes: number): string => new Date(BASE + minutes * 60_000).toISOString();

/** An upload of one reading every 5 minutes from 09:35Z (12 of them span 09:00 and 10:00). */
const upload = (count: number, first = 35) => ({
  deviceId: 'd1',
  readings: Array.from({ length: count }, (_, i) => ({
    timestamp: minute(first + i * 5),
    metrics: { t: 20 + (i % 4) * 0.1, h: 40 + i, p: 1e-7 * i },
  })),
});

const stored = (timestamp: string, extra: Partial<ReadingItem> = {}): ReadingItem => ({
  deviceId: 'd1',
  timestamp,
  metrics: { t: 1 },
  receivedAt: timestamp,
  readingId: `r-${timestamp}`,
  correlationId: 'c',
  ...extra,
});

/** What DynamoDB gives back for an item: its marshalled form read again. */
const roundTrip = <T extends object>(item: T) => unmarshall(marshall(item)) as Record<string, unknown>;

describe('enrichment items', () => {
  const { enriched } = deriveUpload(upload(12), []);
  const options = { startedAt: '2026-11-23T11:00:00.000Z', retentionDays: 30 };

  it('stores an upload as one item per UTC hour its readings span, each kept for the retention after its hour', () => {
    const items = enrichmentItemsOf('d1', enriched, options);
    expect(items.map((item) => item.slot.split('#')[0])).toEqual([minute(0), minute(60)]);
    expect(items.map((item) => item.expiresAt)).toEqual([
      (BASE + 3_600_000) / 1000 + 30 * 86_400,
      (BASE + 7_200_000) / 1000 + 30 * 86_400,
    ]);
    // 09:35..09:55 in the first hour, 10:00..10:30 in the second.
    expect(items.map((item) => (JSON.parse(item.readings) as unknown[]).length)).toEqual([5, 7]);
  });

  it('gives a retried execution the same keys, and another set of readings in the same hour other ones', () => {
    const again = enrichmentItemsOf('d1', deriveUpload(upload(12), []).enriched, {
      ...options,
      startedAt: '2026-11-23T12:00:00.000Z',
    });
    expect(again.map((item) => item.slot)).toEqual(
      enrichmentItemsOf('d1', enriched, options).map((i) => i.slot),
    );
    const part = enrichmentItemsOf('d1', enriched.slice(0, 3), options);
    expect(part[0]?.slot.split('#')[0]).toBe(minute(0));
    expect(part[0]?.slot).not.toBe(enrichmentItemsOf('d1', enriched, options)[0]?.slot);
  });

  it('gives each reading its enrichment back exactly as derived, with the device, once stored', () => {
    const items = enrichmentItemsOf('d1', enriched, options).map(roundTrip);
    const readings = withEnrichments(
      enriched.map((reading) => stored(reading.timestamp)),
      items,
    );
    expect(readings.map((reading) => reading.enrichment)).toEqual(
      enriched.map((reading) => ({ ...reading, deviceId: 'd1' })),
    );
  });

  it('splits an hour too large for one item into several, each within DynamoDB’s 400 KB, every reading served back', () => {
    // 100 readings 30 s apart, of 50 metrics with 64-character names and 17-digit values.
    const names = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, '0')}${'x'.repeat(61)}`);
    const big = deriveUpload(
      {
        deviceId: 'd1',
        readings: Array.from({ length: 100 }, (_, i) => ({
          timestamp: new Date(BASE + i * 30_000).toISOString(),
          metrics: Object.fromEntries(names.map((name, m) => [name, -1234567.891234567 * (i + 1) * (m + 1)])),
        })),
      },
      [],
    ).enriched;
    const items = enrichmentItemsOf('d1', big, options);
    expect(new Set(items.map((item) => item.slot.split('#')[0])).size).toBe(1);
    expect(items.length).toBeGreaterThan(1);
    for (const item of items) expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400 * 1024);
    const readings = withEnrichments(
      big.map((reading) => stored(reading.timestamp)),
      items.map(roundTrip),
    );
    expect(readings.map((reading) => reading.enrichment)).toEqual(
      big.map((reading) => ({ ...reading, deviceId: 'd1' })),
    );
  });

  it('keeps an hour of 12 readings of 3 metrics within 3 KB, where one item per reading took about 400 B each', () => {
    const [item] = enrichmentItemsOf('d1', deriveUpload(upload(12, 0), []).enriched, options);
    expect(item && Buffer.byteLength(item.readings)).toBeLessThan(3 * 1024);
  });
});

describe('joining readings with their enrichment', () => {
  const { enriched } = deriveUpload(upload(2), []);
  const first = enriched[0]?.timestamp ?? '';
  const second = enriched[1]?.timestamp ?? '';
  const itemsAt = (startedAt: string, readings = enriched) =>
    enrichmentItemsOf('d1', readings, { startedAt, retentionDays: 30 }).map(roundTrip);
  const failure = (startedAt?: string) => ({
    error: 'Lambda.ServiceException',
    cause: 'Injected fault',
    ...(startedAt ? { startedAt } : {}),
  });

  it('leaves a reading without an item as it is stored: not enriched, or enriched on itself before the table', () => {
    const legacy = { readingId: 'x', metrics: {} };
    const readings = [stored(first), stored(second, { enrichment: legacy, enrichmentError: failure() })];
    expect(withEnrichments(readings, [])).toEqual(readings);
  });

  it('shows the error of the execution that enriched a reading and then gave up, and of a later one', () => {
    const same = withEnrichments(
      [stored(first, { enrichmentError: failure('2026-11-23T11:00:00.000Z') })],
      itemsAt('2026-11-23T11:00:00.000Z'),
    );
    expect(same[0]).toMatchObject({
      enrichment: { timestamp: first },
      enrichmentError: failure('2026-11-23T11:00:00.000Z'),
    });
    const later = withEnrichments(
      [stored(first, { enrichmentError: failure('2026-11-23T11:05:00.000Z') })],
      itemsAt('2026-11-23T11:00:00.000Z'),
    );
    expect(later[0]?.enrichmentError).toEqual(failure('2026-11-23T11:05:00.000Z'));
  });

  it('drops the error once a later execution enriched the reading (a redrive), and an error that does not say when', () => {
    const [redriven] = withEnrichments(
      [stored(first, { enrichmentError: failure('2026-11-23T11:00:00.000Z') })],
      itemsAt('2026-11-23T11:10:00.000Z'),
    );
    expect(redriven?.enrichment).toMatchObject({ timestamp: first });
    expect(redriven).not.toHaveProperty('enrichmentError');
    const [undated] = withEnrichments(
      [stored(first, { enrichmentError: failure() })],
      itemsAt('2026-11-23T11:10:00.000Z'),
    );
    expect(undated?.enrichmentError).toEqual(failure());
  });

  it('reads a failed execution’s error item in the reading’s hour, made stale by a later enrichment as the error on a reading is', () => {
    const errorItem = (timestamp: string, startedAt: string) =>
      roundTrip({
        deviceId: 'd1',
        slot: `${timestamp.slice(0, 13)}:00:00.000Z#error/${timestamp}`,
        startedAt,
        enrichmentError: { error: 'Lambda.ServiceException', cause: 'Injected fault', execution: 'arn:x' },
      });
    const failed = errorItem(first, '2026-11-23T11:05:00.000Z');

    const [gaveUp, untouched] = withEnrichments(
      [stored(first), stored(second)],
      [...itemsAt('2026-11-23T11:00:00.000Z'), failed],
    );
    const [redriven] = withEnrichments([stored(first)], [failed, ...itemsAt('2026-11-23T11:10:00.000Z')]);
    const [notEnriched] = withEnrichments(
      [stored(first)],
      [errorItem(first, '2026-11-23T11:01:00.000Z'), failed],
    );

    expect(gaveUp).toMatchObject({
      enrichment: { timestamp: first },
      enrichmentError: failure('2026-11-23T11:05:00.000Z'),
    });
    expect(untouched).not.toHaveProperty('enrichmentError');
    expect(redriven).not.toHaveProperty('enrichmentError');
    expect(notEnriched?.enrichmentError).toEqual(failure('2026-11-23T11:05:00.000Z'));
  });

  it('takes the latest execution’s enrichment of a reading stored in two items', () => {
    const older = itemsAt('2026-11-23T11:00:00.000Z');
    const newer = itemsAt(
      '2026-11-23T11:10:00.000Z',
      deriveUpload({ deviceId: 'd1', readings: [{ timestamp: first, metrics: { t: 99 } }] }, []).enriched,
    );
    for (const items of [
      [...older, ...newer],
      [...newer, ...older],
    ]) {
      const [reading, other] = withEnrichments([stored(first), stored(second)], items);
      expect(reading?.enrichment).toMatchObject({ metrics: { t: { value: 99 } } });
      expect(other?.enrichment).toMatchObject({ timestamp: second });
    }
  });
});
