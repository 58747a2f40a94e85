import { BatchWriteCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { edgeDynamo, waitFor } from '../support/local-cloud.ts';
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

const device = (name: string) =>
  alarmedDevice(name, { temperature: { unit: '°C' }, humidity: { unit: '%' } });

const cold = { timeout: 90_000 };

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('the dashboard charts', () => {
  it('shades an alarm period on its metric chart while raised and after it resolved, live and on reload', async () => {
    const { t } = world();
    const apiKey = await t.registerDevice('e2e-bands', device('Band probe'));
    await postReadings(
      t,
      apiKey,
      readings('e2e-bands', 20).map((reading, i) => ({
        ...reading,
        metrics: { ...reading.metrics, humidity: 40 + (i % 5) },
      })),
    );
    const page = await world().open(['e2e-bands']);
    const temperature = page.locator(chart('e2e-bands', 'temperature'));
    const humidity = page.locator(chart('e2e-bands', 'humidity'));
    // The first requests may meet the functions cold on a loaded machine.
    await expect.poll(() => temperature.getAttribute('data-points'), cold).toBe('20');
    await expect.poll(() => page.locator('.connection').getAttribute('data-state'), cold).toBe('live');
    expect(await temperature.getAttribute('data-bands')).toBe('0');
    const alert = {
      alertId: `e2e-bands/temperature/${Date.now()}`,
      summary: 'temperature 34.2 °C is above 30',
      deviceId: 'e2e-bands',
      severity: 'critical',
      time: minutesAgo(8),
      kind: 'threshold',
      metric: 'temperature',
      value: 34.2,
      above: 30,
      readingTimestamp: minutesAgo(8),
    };

    await putAlertEvent(t, 'AlertRaised', alert);

    await expect.poll(() => temperature.getAttribute('data-open-bands')).toBe('1');
    expect(await humidity.getAttribute('data-bands')).toBe('0');

    await putAlertEvent(t, 'AlertResolved', { ...alert, value: 24, time: minutesAgo(4) });

    await expect.poll(() => temperature.getAttribute('data-open-bands')).toBe('0');
    expect(await temperature.getAttribute('data-bands')).toBe('1');
    await screenshot(page, 'alarm-band');

    // A dashboard opened later draws the same period from the alert history (`GET /alerts?deviceId=`).
    await expect
      .poll(
        async () =>
          (await (await t.api('/alerts?deviceId=e2e-bands', { token: t.adminToken })).json()) as unknown,
      )
      .toMatchObject({ items: [{ alertId: alert.alertId, state: 'resolved' }] });
    const later = await world().open(['e2e-bands']);
    const reloaded = later.locator(chart('e2e-bands', 'temperature'));
    await expect.poll(() => reloaded.getAttribute('data-bands')).toBe('1');
    expect(await reloaded.getAttribute('data-open-bands')).toBe('0');
    expect(await later.locator(chart('e2e-bands', 'humidity')).getAttribute('data-bands')).toBe('0');
    expect(pageErrors(page)).toEqual([]);
    expect(pageErrors(later)).toEqual([]);
  }, 240_000);

  it('opens a 30-day view of a month of history from one request of hourly buckets, paging through nothing', async () => {
    const { t } = world();
    const deviceId = 'e2e-month';
    const apiKey = await t.registerDevice(deviceId, device('Month probe'));
    // A month at one reading an hour (one in each hourly bucket the view draws), written straight
    // into the readings table: the rollups consumer folds them from the table's stream, as it does
    // readings posted through the API.
    const stepMs = 60 * 60_000;
    const end = Date.now() - 10 * 60_000;
    const month = Array.from({ length: 30 * 24 }, (_, i) => {
      const timestamp = new Date(end - i * stepMs).toISOString();
      return {
        deviceId,
        timestamp,
        metrics: { temperature: Math.round((21 + 4 * Math.sin(i / 20)) * 100) / 100, humidity: 40 + (i % 7) },
        receivedAt: timestamp,
        readingId: crypto.randomUUID(),
        correlationId: crypto.randomUUID(),
      };
    });
    const dynamo = edgeDynamo(t.cloud);
    for (let i = 0; i < month.length; i += 25) {
      const items = month.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      let unprocessed: BatchWriteCommandInput['RequestItems'] = { [tables.readings.name]: items };
      while (unprocessed && Object.keys(unprocessed).length > 0) {
        unprocessed = (await dynamo.send(new BatchWriteCommand({ RequestItems: unprocessed })))
          .UnprocessedItems;
      }
    }
    await postReadings(t, apiKey, [
      {
        deviceId,
        timestamp: new Date(Date.now() - 60_000).toISOString(),
        metrics: { temperature: 22, humidity: 41 },
      },
    ]);
    const from = new Date(Date.now() - 31 * 86_400_000).toISOString();
    await waitFor(
      async () => {
        const answer = await t.api(`/devices/${deviceId}/readings?bucket=1d&from=${from}`, {
          token: t.adminToken,
        });
        const body = (await answer.json()) as { items?: { metrics: { temperature?: { count: number } } }[] };
        const counted = (body.items ?? []).reduce(
          (sum, item) => sum + (item.metrics.temperature?.count ?? 0),
          0,
        );
        return counted === month.length + 1;
      },
      'the rollups of the month',
      60_000,
    );
    const requests: URL[] = [];
    const page = await world().open([deviceId]);
    page.on('request', (request) => {
      const url = new URL(request.url());
      // The dashboard calls the API on the page's own host name (localhost), on the API's port.
      if (url.port === new URL(t.cloud.apiUrl).port) requests.push(url);
    });

    await page.goto(`${world().web.url}/?range=30d`);

    const temperature = page.locator(chart(deviceId, 'temperature'));
    // The chart appears once the functions behind the first requests have started (cold on a loaded machine).
    await temperature.waitFor(cold);
    await expect.poll(() => temperature.getAttribute('data-mode'), cold).toBe('aggregate');
    expect(await temperature.getAttribute('data-bucket')).toBe('1h');
    await expect.poll(() => temperature.getAttribute('data-points'), cold).not.toBe('0');
    // 30 days of hourly buckets, the last one or two from the live tail.
    expect(Number(await temperature.getAttribute('data-points'))).toBeGreaterThanOrEqual(700);
    expect(Number(await temperature.getAttribute('data-points'))).toBeLessThanOrEqual(722);
    expect(await page.locator('[data-range="30d"]').getAttribute('aria-pressed')).toBe('true');
    expect(new URL(page.url()).searchParams.get('range')).toBe('30d');
    await screenshot(page, 'history-30-days');

    const history = requests.filter((url) => url.pathname === `/devices/${deviceId}/readings`);
    const bucketed = history.filter((url) => url.searchParams.get('bucket') === '1h');
    const raw = history.filter((url) => !url.searchParams.has('bucket'));
    expect(bucketed).toHaveLength(1);
    // The raw readings asked for are the current bucket's only (its start, an hour at most ago).
    expect(raw.length).toBeGreaterThanOrEqual(1);
    for (const url of raw) {
      expect(Date.now() - Date.parse(url.searchParams.get('from') ?? '')).toBeLessThanOrEqual(
        3_600_000 + 120_000,
      );
    }
    // Devices, alerts and this device's history, never a page per thousand readings: no request
    // follows a cursor, and nothing else is asked. How many there are is not the measure: the
    // dashboard asks for the devices every 30 s, and after its live connection drops (functions
    // starting cold on a loaded machine) asks again for the devices, the alerts and the current
    // bucket's readings: 6 requests here on a quiet machine, 10 in a CI run that reconnected once.
    const asked = requests.map((url) => `${url.pathname}${url.search}`).join('\n');
    expect(
      requests.filter((url) => url.searchParams.has('cursor')),
      asked,
    ).toEqual([]);
    expect(
      requests.filter(
        (url) => !['/devices', '/alerts', `/devices/${deviceId}/readings`].includes(url.pathname),
      ),
      asked,
    ).toEqual([]);

    await page.locator('[data-range="7d"]').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('range')).toBe('7d');
    await page.goBack();
    await expect.poll(() => page.locator('[data-range="30d"]').getAttribute('aria-pressed')).toBe('true');
    expect(new URL(page.url()).searchParams.get('range')).toBe('30d');
    expect(pageErrors(page)).toEqual([]);
  }, 240_000);
});
