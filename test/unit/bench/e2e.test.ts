import { describe, expect, it } from 'vitest';
import { PushLedger, percentilesOf } from '../../bench/e2e.ts';

describe('the bench push ledger', () => {
  it('keeps the first push of a slot, and counts repeats of its eventId apart from pushes with another', () => {
    const ledger = new PushLedger(3);
    ledger.record(0, 'event-a', 10);
    ledger.record(0, 'event-a', 20);
    ledger.record(0, 'event-a', 30);
    ledger.record(0, 'event-b', 40);
    ledger.record(2, 'event-c', 15);

    expect(ledger.received).toBe(2);
    expect(ledger.slot(0)).toEqual({ firstAt: 10, repeated: 2, duplicated: 1 });
    expect(ledger.slot(1)).toBeUndefined();
    expect(ledger.slot(2)).toEqual({ firstAt: 15, repeated: 0, duplicated: 0 });
  });
});

describe('the bench percentiles', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentilesOf(values)).toEqual({ count: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100 });
    expect(percentilesOf([])).toEqual({ count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
