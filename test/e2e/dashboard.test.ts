import { describe, expect, it } from 'vitest';
import {
  alarmedDevice,
  chart,
  dashboardWorldOfFile,
  pageErrors,
  postReadings,
  putAlertEvent,
  readings,
  screenshot,
} from './support.ts';

const world = dashboardWorldOfFile();

const device = (name: string) => alarmedDevice(name, { temperature: { unit: '°C' } });

describe('the live dashboard', () => {
  it('shows the seeded history of a device on its chart', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-history', device('History probe'));
    await postReadings(t, apiKey, readings('e2e-history', 12));

    const page = await world().open(['e2e-history']);

    const figure = page.locator(chart('e2e-history', 'temperature'));
    await expect.poll(() => figure.getAttribute('data-points')).toBe('12');
    await expect.poll(() => page.locator('.connection').getAttribute('data-state')).toBe('live');
    const item = page.locator('.device-item[data-device-id="e2e-history"]');
    await expect.poll(() => item.textContent()).toContain('History probe');
    await expect
      .poll(() => page.locator('li[data-device-id="e2e-history"]').getAttribute('data-status'))
      .toBe('online');
    const alarm = page.locator('.alarm-chip[data-metric="temperature"]');
    expect(await alarm.textContent()).toContain('Temperature above 30 °C');
    expect(['OK', 'INSUFFICIENT_DATA']).toContain(await alarm.getAttribute('data-alarm-state'));
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    await screenshot(page, 'history');
    expect(pageErrors(page)).toEqual([]);
  });

  it('draws a reading posted through the API without a reload', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-live', device('Live probe'));
    await postReadings(t, apiKey, readings('e2e-live', 3));
    const page = await world().open(['e2e-live']);
    const figure = page.locator(chart('e2e-live', 'temperature'));
    await expect.poll(() => figure.getAttribute('data-points')).toBe('3');
    await expect.poll(() => page.locator('.connection').getAttribute('data-state')).toBe('live');
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    const timestamp = new Date(Date.now() - 1000).toISOString();
    await postReadings(t, apiKey, [{ deviceId: 'e2e-live', timestamp, metrics: { temperature: 27.5 } }]);

    await expect.poll(() => figure.getAttribute('data-points')).toBe('4');
    expect(await figure.getAttribute('data-last-timestamp')).toBe(timestamp);
    expect(await figure.locator('.metric-value').textContent()).toBe('27.5 °C');
    expect(await page.evaluate(() => 'sameDocument' in window)).toBe(true);
    await screenshot(page, 'live-reading');
    expect(pageErrors(page)).toEqual([]);
  });

  it('shows an alarm in the alerts panel while it is raised, and marks it resolved', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-alarm', device('Alarm probe'));
    await postReadings(t, apiKey, readings('e2e-alarm', 5));
    const page = await world().open(['e2e-alarm']);
    await expect.poll(() => page.locator('.connection').getAttribute('data-state')).toBe('live');
    const alert = {
      alertId: `e2e-alarm/temperature/${Date.now()}`,
      summary: 'temperature 34.2 °C is above 30',
      deviceId: 'e2e-alarm',
      severity: 'critical',
      time: new Date().toISOString(),
      kind: 'threshold',
      metric: 'temperature',
      value: 34.2,
      above: 30,
      readingTimestamp: new Date().toISOString(),
    };

    await putAlertEvent(t, 'AlertRaised', alert);

    const item = page.locator(`.alert[data-alert-id="${alert.alertId}"]`);
    await expect.poll(() => item.getAttribute('data-state')).toBe('raised');
    expect(await item.textContent()).toContain('temperature 34.2 °C is above 30');
    expect(await item.textContent()).toContain('Alarm probe');
    expect(await page.locator('.alert-count').getAttribute('data-active')).toBe('1');
    await expect
      .poll(() => page.locator('.alarm-chip[data-metric="temperature"]').getAttribute('data-alarm-state'))
      .toBe('ALARM');
    await screenshot(page, 'alert-raised');

    await putAlertEvent(t, 'AlertResolved', { ...alert, time: new Date().toISOString() });

    await expect.poll(() => item.getAttribute('data-state')).toBe('resolved');
    expect(await page.locator('.alert-count').getAttribute('data-active')).toBe('0');
    expect(pageErrors(page)).toEqual([]);
  });

  it('lets an operator acknowledge, snooze and resolve an alert from the panel, live; a viewer sees no buttons', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-ops', {
      ...device('Operated probe'),
      alarms: [{ metric: 'temperature', above: 30, severity: 'critical' }],
    });
    const page = await world().open(['e2e-ops'], 'operator');
    const viewerPage = await world().open(['e2e-ops']);
    // The first connection may meet the WebSocket functions cold.
    const live = { timeout: 30_000 };
    await expect.poll(() => page.locator('.connection').getAttribute('data-state'), live).toBe('live');
    await expect.poll(() => viewerPage.locator('.connection').getAttribute('data-state'), live).toBe('live');

    await postReadings(t, apiKey, [
      { deviceId: 'e2e-ops', timestamp: new Date().toISOString(), metrics: { temperature: 34 } },
    ]);
    const item = page.locator('.alert[data-device-id="e2e-ops"]');
    await expect.poll(() => item.getAttribute('data-state'), { timeout: 60_000 }).toBe('raised');
    const seenByViewer = viewerPage.locator('.alert[data-device-id="e2e-ops"]');
    await expect.poll(() => seenByViewer.getAttribute('data-state'), live).toBe('raised');
    expect(await seenByViewer.locator('.alert-action').count()).toBe(0);
    expect(await item.locator('.alert-action').count()).toBe(6);
    // The alert history keeps its record beside the push; act once it has it, as a person would.
    await expect
      .poll(
        async () =>
          (await (await t.api('/alerts?deviceId=e2e-ops', { token: t.adminToken })).json()) as unknown,
        live,
      )
      .toMatchObject({ items: [{ state: 'active' }] });

    await item.locator('[data-action="acknowledge"]').click();
    await expect.poll(() => item.getAttribute('data-acknowledged'), live).toBe('true');
    await expect.poll(() => seenByViewer.getAttribute('data-acknowledged'), live).toBe('true');
    await item.locator('[data-action="snooze-60"]').click();
    await expect.poll(() => item.getAttribute('data-snoozed'), live).toBe('true');
    await expect
      .poll(() => item.locator('.alert-timeline [data-step]').count(), live)
      .toBeGreaterThanOrEqual(2);
    await screenshot(page, 'alert-operator');

    await item.locator('[data-action="resolve"]').click();
    await expect.poll(() => item.getAttribute('data-state'), live).toBe('resolved');
    await expect.poll(() => seenByViewer.getAttribute('data-state'), live).toBe('resolved');
    expect(await item.locator('.alert-action').count()).toBe(0);
    expect(pageErrors(page)).toEqual([]);
    expect(pageErrors(viewerPage)).toEqual([]);
  }, 120_000);

  it('keeps the token of the link when the page is left before its configuration has loaded', async () => {
    const { t, web, browser } = world();
    await t.registerDevice('e2e-early-leave', device('Early-leave probe'));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      // The first load's config.json is held back until the page has been left.
      let held = true;
      await page.route('**/config.json', async (route) => {
        if (held) return route.abort();
        return route.continue();
      });
      await page.goto(`${web.url}/?token=${encodeURIComponent(await t.viewerToken(['e2e-early-leave']))}`);
      held = false;

      await page.goto(`${web.url}/?range=24h`);

      await expect.poll(() => page.locator('#app').getAttribute('data-ready')).toBe('true');
      expect(await page.locator('.device-item[data-device-id="e2e-early-leave"]').count()).toBe(1);
    } finally {
      await page.close();
    }
  });

  it('asks for a token when the link carries one the API refuses, and opens with a good one', async () => {
    const { t, web, browser } = world();
    await t.registerDevice('e2e-sign-in', device('Sign-in probe'));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await page.goto(`${web.url}/?token=not-a-token`);

      await expect.poll(() => page.locator('.sign-in-problem').textContent()).toContain('refused');
      await screenshot(page, 'sign-in');

      await page.getByLabel('Viewer token').fill(await t.viewerToken(['e2e-sign-in']));
      await page.getByRole('button', { name: 'Open dashboard' }).click();

      await expect.poll(() => page.locator('#app').getAttribute('data-ready')).toBe('true');
      expect(await page.locator('.device-item[data-device-id="e2e-sign-in"]').count()).toBe(1);
    } finally {
      await page.close();
    }
  });
});
