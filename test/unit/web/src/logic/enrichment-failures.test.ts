import { describe, expect, it } from 'vitest';
import {
  applyFailures,
  clearFailure,
  type EnrichmentFailures,
  failureNotice,
  pruneFailures,
} from '../../../../../web/src/logic/enrichment-failures.ts';
import { parseReadingsPage } from '../../../../../web/src/logic/messages.ts';

const at = (iso: string) => Date.parse(iso);
const timeout = { error: 'States.Timeout', cause: 'States.Timeout' };
const lambda = { error: 'Lambda.ServiceException', cause: 'Injected fault' };

describe('enrichment failures on the dashboard', () => {
  it('counts the history items that carry enrichmentError, as the readings API serves them', () => {
    const page = parseReadingsPage({
      items: [
        {
          deviceId: 'boiler-1',
          timestamp: '2026-11-23T10:00:00.000Z',
          receivedAt: '2026-11-23T10:00:01.000Z',
          metrics: { t: 1 },
          enrichmentError: timeout,
        },
        {
          deviceId: 'boiler-1',
          timestamp: '2026-11-23T10:01:00.000Z',
          receivedAt: '2026-11-23T10:01:01.000Z',
          metrics: { t: 2 },
          enrichment: {},
        },
        {
          deviceId: 'boiler-1',
          timestamp: '2026-11-23T10:02:00.000Z',
          receivedAt: '2026-11-23T10:02:01.000Z',
          metrics: { t: 3 },
          enrichmentError: lambda,
        },
        {
          deviceId: 'boiler-1',
          timestamp: '2026-11-23T10:03:00.000Z',
          receivedAt: '2026-11-23T10:03:01.000Z',
          metrics: { t: 4 },
          enrichmentError: {},
        },
      ],
      nextCursor: null,
    });

    const failures = applyFailures(new Map(), page?.items ?? []);

    expect([...failures.keys()]).toEqual([at('2026-11-23T10:00:00Z'), at('2026-11-23T10:02:00Z')]);
    expect(failureNotice(failures, 'Boiler 1')).toBe(
      '2 readings of Boiler 1 could not be enriched (Lambda.ServiceException, States.Timeout): no derived metrics or alarm checks for them yet. They wait in the enrichment dead-letter queue for an operator to redrive.',
    );
  });

  it('says nothing when every reading was enriched, and speaks of one reading in the singular', () => {
    const one: EnrichmentFailures = new Map([[at('2026-11-23T10:00:00Z'), timeout]]);

    expect(failureNotice(new Map(), 'Boiler 1')).toBeUndefined();
    expect(failureNotice(one, 'Boiler 1')).toMatch(
      /^1 reading of Boiler 1 could not be enriched \(States\.Timeout\).* It waits/,
    );
  });

  it('forgets a reading once it is enriched after all: by its ReadingEnriched push or a history item without error', () => {
    const failures = applyFailures(new Map(), [
      {
        deviceId: 'd',
        timestamp: '2026-11-23T10:00:00.000Z',
        receivedAt: '2026-11-23T10:00:01.000Z',
        metrics: { t: 1 },
        enrichmentError: lambda,
      },
      {
        deviceId: 'd',
        timestamp: '2026-11-23T10:01:00.000Z',
        receivedAt: '2026-11-23T10:01:01.000Z',
        metrics: { t: 1 },
        enrichmentError: lambda,
      },
    ]);

    const afterPush = clearFailure(failures, {
      deviceId: 'd',
      timestamp: '2026-11-23T11:00:00+01:00',
      metrics: { t: { anomaly: false } },
    });
    const afterBackfill = applyFailures(afterPush, [
      {
        deviceId: 'd',
        timestamp: '2026-11-23T10:01:00.000Z',
        receivedAt: '2026-11-23T10:01:01.000Z',
        metrics: { t: 1 },
        enrichment: { t: { anomaly: false } },
      },
    ]);

    expect([...afterPush.keys()]).toEqual([at('2026-11-23T10:01:00Z')]);
    expect(afterBackfill.size).toBe(0);
    expect(failures.size).toBe(2);
  });

  it('keeps only the failures of the shown range', () => {
    const failures: EnrichmentFailures = new Map([
      [at('2026-11-23T09:00:00Z'), lambda],
      [at('2026-11-23T10:00:00Z'), lambda],
    ]);

    expect([...pruneFailures(failures, at('2026-11-23T09:30:00Z')).keys()]).toEqual([
      at('2026-11-23T10:00:00Z'),
    ]);
  });
});
