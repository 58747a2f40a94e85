import { describe, expect, it } from 'vitest';
import { recordedReadings, waitFor } from '../support/local-cloud.ts';
import { chart, dashboardWorldOfFile, pageErrors, postReadings, readings, screenshot } from './support.ts';

const world = dashboardWorldOfFile();

describe('the live dashboard after a WebSocket outage', () => {
  it('reconnects, goes live again and backfills every reading posted while it was down', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-outage', {
      name: 'Outage probe',
      metrics: { temperature: { unit: '°C' } },
      expectedIntervalSeconds: 60,
    });
    await postReadings(t, apiKey, readings('e2e-outage', 4, 30_000, 120_000));
    const page = await world().open(['e2e-outage']);
    const figure = page.locator(chart('e2e-outage', 'temperature'));
    const indicator = page.locator('.connection');
    await expect.poll(() => figure.getAttribute('data-points')).toBe('4');
    await expect.poll(() => indicator.getAttribute('data-state')).toBe('live');
    const backfillsBefore = Number(await page.locator('#app').getAttribute('data-backfills'));

    // The restart in two halves, so the readings below are certainly posted while no socket is open.
    await t.cloud.websocket.close();
    await expect.poll(() => indicator.getAttribute('data-state')).not.toBe('live');
    const missed = readings('e2e-outage', 3, 5_000, 5_000);
    await postReadings(t, apiKey, missed);
    // Counted by reading: each upload is one ReadingRecorded carrying its readings.
    await waitFor(
      () => new Set(recordedReadings(t, 'e2e-outage').map((r) => r.readingId)).size >= 7,
      'the readings announced on the bus',
    );
    expect(await figure.getAttribute('data-points')).toBe('4');
    await screenshot(page, 'reconnecting');
    await t.cloud.restartWebSocket();

    await expect.poll(() => indicator.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => figure.getAttribute('data-points')).toBe('7');
    expect(await figure.getAttribute('data-last-timestamp')).toBe(missed.at(-1)?.timestamp);
    expect(Number(await page.locator('#app').getAttribute('data-backfills'))).toBeGreaterThan(
      backfillsBefore,
    );

    const after = new Date().toISOString();
    await postReadings(t, apiKey, [
      { deviceId: 'e2e-outage', timestamp: after, metrics: { temperature: 30 } },
    ]);
    await expect.poll(() => figure.getAttribute('data-points')).toBe('8');
    await screenshot(page, 'reconnected');
    expect(pageErrors(page)).toEqual([]);
  });
});
