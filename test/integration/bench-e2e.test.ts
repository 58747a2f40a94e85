import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { tapBus } from '../bench/accounting.ts';
import { measureEndToEnd } from '../bench/e2e.ts';
import { benchEpochMs } from '../bench/readings.ts';
import { startTestCloud, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t.stop();
});

describe('the bench end to end', () => {
  it('times each reading to its ReadingRecorded on the bus tap, and counts one ReadingEnriched push per reading and client', async () => {
    const deviceId = 'bench-e2e-it';
    const apiKey = await t.registerDevice(deviceId, {
      name: 'bench, end to end',
      metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } },
    });
    const telemetry = tapBus(t.cloud.events, buses.telemetry.name);
    try {
      const run = await measureEndToEnd(
        {
          apiUrl: t.cloud.apiUrl,
          wsUrl: t.cloud.wsUrl,
          viewerToken: await t.viewerToken([deviceId]),
          devices: [{ deviceId, apiKey }],
          clients: 2,
          ratePerSec: 5,
          warmupSeconds: 0,
          durationSeconds: 1,
          // The workflow's functions start cold on a loaded machine: the run ends as soon as every push is in.
          drainSeconds: 120,
          epochMs: benchEpochMs(),
        },
        telemetry,
      );
      expect(run).toMatchObject({ posted: 5, accepted: 5, failedPosts: 0, unexpectedPushes: 0 });
      expect(run.recorded).toMatchObject({ expected: 5, announced: 5, missing: 0 });
      expect(run.recorded.latency.count).toBe(5);
      // The bus accepts a reading's event after its POST was sent: both ends read the same clock.
      expect(run.recorded.latency.p50Ms).toBeGreaterThan(0);
      // Each is also timed from its 202, read after the POST was sent: the same events, a later start.
      expect(run.recorded.afterAnswer.count).toBe(5);
      expect(run.recorded.afterAnswer.maxMs).toBeLessThan(run.recorded.latency.maxMs);
      expect(run.throttledAnswers).toBeGreaterThanOrEqual(run.throttledPosts);
      expect(run.enriched).toMatchObject({ expected: 10, received: 10, lost: 0, duplicated: 0 });
      expect(run.enriched.latency.count).toBe(10);
      expect(run.enriched.latency.p50Ms).toBeGreaterThan(0);
    } finally {
      telemetry.stop();
    }
  }, 240_000);
});
