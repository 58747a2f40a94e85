import { describe, expect, it } from 'vitest';
import { itemSize, readUnits, valueSize, writeUnits } from '../../../../tools/cost/dynamo-size.ts';
import { measureSizes } from '../../../../tools/cost/sizes.ts';

describe('DynamoDB item sizes', () => {
  it('counts names and values as DynamoDB does', () => {
    expect(itemSize({ deviceId: 'greenhouse-1' })).toBe(8 + 12);
    expect(valueSize(21.5)).toBe(3); // 3 significant digits → 2 bytes + 1
    expect(valueSize(1_000_000)).toBe(2); // trailing zeroes trimmed
    expect(valueSize(true)).toBe(1);
    expect(valueSize(null)).toBe(1);
    expect(valueSize({})).toBe(3);
    expect(valueSize({ a: 'xy' })).toBe(3 + 1 + 2 + 1);
    expect(valueSize(['xy', 'z'])).toBe(3 + (2 + 1) + (1 + 1));
  });

  it('rounds writes to 1 KB and reads to 4 KB (half for eventually consistent)', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(readUnits(0, 'eventual')).toBe(0.5);
    expect(readUnits(4096, 'strong')).toBe(1);
    expect(readUnits(7920, 'eventual')).toBe(1);
  });
});

describe('sizes measured on the project’s own payloads', () => {
  const sizes = measureSizes(3, 60);

  it('keep a 3-metric reading within one WRU, an hour of 12 readings’ enrichment within 3, the device with its rolling window within 2, and every event within one 64 KB chunk', () => {
    expect(writeUnits(sizes.readingItem)).toBe(1);
    expect(writeUnits(sizes.enrichmentItemBase + sizes.enrichmentItemPerReading)).toBe(1);
    expect(writeUnits(sizes.enrichmentItemBase + 12 * sizes.enrichmentItemPerReading)).toBe(3);
    // The device item carries derive's rolling window: 12 readings by column, and the 12 an upload
    // of a whole window pushed out.
    expect(writeUnits(sizes.deviceItem)).toBe(2);
    for (const event of [sizes.readingRecordedEvent, sizes.readingEnrichedEvent, sizes.alertEvent])
      expect(event).toBeLessThan(65_536);
    expect(sizes.pushReadingEnriched).toBeLessThan(32_768);
  });

  it('grow with the metrics of a reading', () => {
    const big = measureSizes(20, 60);
    expect(big.readingItem).toBeGreaterThan(sizes.readingItem);
    expect(big.enrichmentItemPerReading).toBeGreaterThan(sizes.enrichmentItemPerReading);
    expect(writeUnits(big.enrichmentItemBase + big.enrichmentItemPerReading)).toBeGreaterThan(1);
    expect(big.sfnLogBytesPerExecution).toBeGreaterThan(sizes.sfnLogBytesPerExecution);
  });

  it('count the log events of one successful enrich-reading execution', () => {
    expect(sizes.sfnLogEventsPerExecution).toBe(36); // no StoreEnrichment task: derive writes the enrichment
    expect(sizes.sfnLogBytesPerExecution).toBeGreaterThan(20_000);
  });
});
