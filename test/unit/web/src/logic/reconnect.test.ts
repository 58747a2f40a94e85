import { describe, expect, it } from 'vitest';
import { BACKFILL_OVERLAP_MS, backfillWindow } from '../../../../../web/src/logic/backfill.ts';
import { backoffDelay } from '../../../../../web/src/logic/backoff.ts';
import { coalescing } from '../../../../../web/src/logic/coalesce.ts';
import { socketUrl, subscriptionMessages } from '../../../../../web/src/logic/subscriptions.ts';

describe('backoffDelay', () => {
  const options = { baseMs: 500, maxMs: 30_000 };

  it('doubles the ceiling with every attempt and never passes the maximum', () => {
    const highest = [0, 1, 2, 3, 10, 1000].map((attempt) => backoffDelay(attempt, options, () => 1));

    expect(highest).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
  });

  it('jitters between half the ceiling and the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(2000);
    expect(backoffDelay(3, options, () => 0.5)).toBe(3000);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(4, options);
      expect(delay).toBeGreaterThanOrEqual(4000);
      expect(delay).toBeLessThanOrEqual(8000);
    }
  });
});

describe('backfillWindow', () => {
  const rangeStart = Date.parse('2026-11-23T09:00:00Z');

  it('starts from the last reading seen before the disconnect, with an overlap for late batches', () => {
    const last = Date.parse('2026-11-23T09:30:00Z');

    expect(backfillWindow(last, rangeStart).from).toBe(new Date(last - BACKFILL_OVERLAP_MS).toISOString());
  });

  it('never reaches back before the chosen range', () => {
    expect(backfillWindow(rangeStart + 1000, rangeStart).from).toBe('2026-11-23T09:00:00.000Z');
  });

  it('loads the whole range when nothing was seen', () => {
    expect(backfillWindow(undefined, rangeStart).from).toBe('2026-11-23T09:00:00.000Z');
  });
});

describe('subscriptionMessages', () => {
  it('sends at most 100 device ids per message, each once', () => {
    const ids = Array.from({ length: 250 }, (_, i) => `d-${i}`);

    const messages = subscriptionMessages('subscribe', [...ids, 'd-0']);

    expect(messages.map((m) => m.deviceIds.length)).toEqual([100, 100, 50]);
    expect(messages.flatMap((m) => m.deviceIds)).toEqual(ids);
    expect(messages.every((m) => m.action === 'subscribe')).toBe(true);
  });

  it('sends nothing for no devices', () => {
    expect(subscriptionMessages('subscribe', [])).toEqual([]);
  });

  it('puts the token in the query string, encoded', () => {
    expect(socketUrl('ws://localhost:3001/', 'a+b/c')).toBe('ws://localhost:3001/?token=a%2Bb%2Fc');
  });
});

describe('coalescing', () => {
  it('runs once more after the current run when asked while running, however often asked', async () => {
    let runs = 0;
    let release: () => void = () => {};
    const sync = coalescing(async () => {
      runs++;
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
    });

    const first = sync();
    const second = sync();
    const third = sync();
    release();
    await Promise.all([first, second, third]);

    expect(runs).toBe(2);
    await sync();
    expect(runs).toBe(3);
  });
});
