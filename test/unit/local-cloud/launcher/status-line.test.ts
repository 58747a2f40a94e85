import { describe, expect, it } from 'vitest';
import { type StatusSample, statusLine } from '../../../../local-cloud/launcher/status-line.ts';

const at = (seconds: number) => new Date(2026, 10, 23, 12, 0, seconds);

const sample: StatusSample = {
  at: at(0),
  acceptedReadings: 604,
  throttledRequests: 0,
  pendingDeliveries: 3,
  deadLetters: 0,
  rssBytes: 312 * 2 ** 20,
};

describe('the status line', () => {
  it('shows the counters, with the accepted rate since the previous sample', () => {
    const line = statusLine(sample, { ...sample, at: at(5), acceptedReadings: 1204 });
    expect(line).toBe(
      '12:00:05  accepted 1,204 (+120/s)  throttled 0  pending deliveries 3  dead letters 0  rss 312 MB',
    );
  });

  it('stays silent while nothing but memory and time moved', () => {
    expect(statusLine(sample, { ...sample, at: at(5), rssBytes: 320 * 2 ** 20 })).toBeUndefined();
  });

  it('speaks when deliveries drain or a letter goes dead, even with no new reading', () => {
    expect(statusLine(sample, { ...sample, at: at(5), pendingDeliveries: 0 })).toContain(
      'accepted 604 (+0/s)  throttled 0  pending deliveries 0',
    );
    expect(statusLine(sample, { ...sample, at: at(5), deadLetters: 1 })).toContain('dead letters 1');
    expect(statusLine(sample, { ...sample, at: at(5), throttledRequests: 2 })).toContain('throttled 2');
  });

  it('shows a slow fleet’s rate with a decimal, and no rate without a previous sample', () => {
    expect(statusLine(sample, { ...sample, at: at(5), acceptedReadings: 615 })).toContain(
      'accepted 615 (+2.2/s)',
    );
    expect(statusLine(undefined, sample)).toBe(
      '12:00:00  accepted 604  throttled 0  pending deliveries 3  dead letters 0  rss 312 MB',
    );
  });
});
