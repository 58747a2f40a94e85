import { describe, expect, it } from 'vitest';
import type { AlertTransition, SilenceAlertData } from '../../../../handlers/enrichment/alert-state.ts';
import type { SilenceCandidate } from '../../../../handlers/enrichment/silence.ts';
import { checkSilence, type SilenceCheckDeps } from '../../../../handlers/enrichment/silence-check.ts';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const QUIET = '2026-11-23T11:50:00.000Z';
const RECENT = '2026-11-23T11:59:30.000Z';

const device = (deviceId: string, lastReadingAt: string): SilenceCandidate => ({
  deviceId,
  expectedIntervalSeconds: 60,
  createdAt: '2026-11-23T09:00:00.000Z',
  lastReading: { timestamp: lastReadingAt },
});

/** A devices table read in `pages`, and a bus that refuses the events of `refused` devices. */
const fakes = (pages: SilenceCandidate[][], refused: string[] = []) => {
  const announced: AlertTransition<SilenceAlertData>[] = [];
  const saved: string[] = [];
  const warnings: string[] = [];
  const publishCalls: number[] = [];
  const deps: SilenceCheckDeps = {
    scanDevices: async (onPage) => {
      for (const page of pages) await onPage(page);
    },
    publishAlerts: async (alerts) => {
      publishCalls.push(alerts.length);
      const failed = alerts.flatMap((alert, index) =>
        refused.includes(alert.data.deviceId) ? [{ index, error: 'InternalFailure' }] : [],
      );
      announced.push(...alerts.filter((alert) => !refused.includes(alert.data.deviceId)));
      return { accepted: alerts.flatMap((_, i) => (failed.some((f) => f.index === i) ? [] : [i])), failed };
    },
    saveAlertStates: async (deviceId) => {
      saved.push(deviceId);
      return true;
    },
    claimResolution: async () => true,
    warn: (message) => {
      warnings.push(message);
    },
  };
  return { deps, announced, saved, warnings, publishCalls };
};

describe('checkSilence', () => {
  it('raises a silence alert for a device three intervals overdue and leaves a reporting one alone', async () => {
    const { deps, announced, saved } = fakes([[device('quiet', QUIET), device('chatty', RECENT)]]);

    const report = await checkSilence(NOW, deps);

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(announced.map((a) => [a.detailType, a.data.deviceId])).toEqual([['AlertRaised', 'quiet']]);
    expect(saved).toEqual(['quiet']);
  });

  it('keeps the state of a device whose alert the bus refused, so the next check raises it again', async () => {
    const { deps, saved, warnings } = fakes([[device('a', QUIET), device('b', QUIET)]], ['a']);

    const report = await checkSilence(NOW, deps);

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(saved).toEqual(['b']);
    expect(warnings).toEqual(['Some silence alerts were not published; the next check retries']);
  });

  it('publishes and saves nothing when no device is due, however many pages it reads', async () => {
    const pages = Array.from({ length: 5 }, (_, p) =>
      Array.from({ length: 100 }, (_, i) => device(`d${p}-${i}`, RECENT)),
    );
    const { deps, saved, publishCalls, warnings } = fakes(pages);

    expect(await checkSilence(NOW, deps)).toEqual({ raised: 0, resolved: 0 });
    expect(publishCalls).toEqual([]);
    expect(saved).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('reads no device at all without failing', async () => {
    const { deps, publishCalls } = fakes([]);

    expect(await checkSilence(NOW, deps)).toEqual({ raised: 0, resolved: 0 });
    expect(publishCalls).toEqual([]);
  });

  it('raises every due device once across many pages, announcing and saving page by page', async () => {
    const pages = Array.from({ length: 4 }, (_, p) =>
      Array.from({ length: 250 }, (_, i) => device(`d${p}-${i}`, i % 2 === 0 ? QUIET : RECENT)),
    );
    const { deps, announced, saved, publishCalls } = fakes(pages);

    const report = await checkSilence(NOW, deps);

    expect(report).toEqual({ raised: 500, resolved: 0 });
    expect(publishCalls).toEqual([125, 125, 125, 125]);
    const quiet = pages.flat().flatMap((d, i) => (i % 2 === 0 ? [d.deviceId] : []));
    expect(new Set(announced.map((a) => a.data.deviceId))).toEqual(new Set(quiet));
    expect(announced).toHaveLength(500);
    expect(saved.sort()).toEqual([...quiet].sort());
  });

  it('resolves a silent device that reported again, with the state it was evaluated against', async () => {
    const silent: SilenceCandidate = {
      ...device('back', RECENT),
      silence: { state: 'ALARM', since: QUIET, alertId: 'a-1' },
    };
    const previous: unknown[] = [];
    const { deps, announced } = fakes([[silent]]);
    const report = await checkSilence(NOW, {
      ...deps,
      saveAlertStates: async (_, updates) => {
        previous.push(...updates.map((u) => u.previous));
        return true;
      },
    });

    expect(report).toEqual({ raised: 0, resolved: 1 });
    expect(announced.map((a) => [a.detailType, a.data.alertId])).toEqual([['AlertResolved', 'a-1']]);
    expect(previous).toEqual([{ state: 'ALARM', since: QUIET, alertId: 'a-1' }]);
  });
});
