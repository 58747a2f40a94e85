/**
 * The browser tests' world: the real local cloud in-process, the dashboard's web server in front
 * of it, and Debian's chromium driven by playwright-core.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { startWebServer, type WebServer } from '../../local-cloud/launcher/web-server.ts';
import { edgeClientConfig, startTestCloud, type TestCloud } from '../support/local-cloud.ts';

export const CHROMIUM = '/usr/bin/chromium';

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

export interface DashboardWorld {
  readonly t: TestCloud;
  readonly web: WebServer;
  readonly browser: Browser;
  /** Opens the dashboard with a token of `role` (viewer unless told) for these devices, at 1280×800. */
  open(deviceIds: string[], role?: 'viewer' | 'operator'): Promise<Page>;
  stop(): Promise<void>;
}

export const startDashboardWorld = async (): Promise<DashboardWorld> => {
  let t: TestCloud | undefined;
  const web = await startWebServer({
    config: () => {
      if (!t) throw new Error('the cloud is not started yet');
      return { apiUrl: t.cloud.apiUrl, wsUrl: t.cloud.wsUrl };
    },
  });
  t = await startTestCloud({ allowedOrigin: web.url, logLevel: 'ERROR' });
  const cloud = t;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const pages: Page[] = [];
  return {
    t: cloud,
    web,
    browser,
    async open(deviceIds, role = 'viewer') {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      pages.push(page);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      Object.assign(page, { pageErrors: errors });
      const token =
        role === 'viewer'
          ? await cloud.viewerToken(deviceIds)
          : (
              (await (
                await cloud.api('/tokens', {
                  method: 'POST',
                  token: cloud.adminToken,
                  json: { role, deviceIds },
                })
              ).json()) as { token: string }
            ).token;
      await page.goto(`${web.url}/?token=${encodeURIComponent(token)}`);
      return page;
    },
    async stop() {
      await Promise.allSettled(pages.map((page) => page.close()));
      await browser.close();
      await web.close();
      await cloud.stop();
    },
  };
};

/**
 * One dashboard world for a test file: started before its tests, stopped after them. Answers the
 * world, which its tests read once they run.
 */
export const dashboardWorldOfFile = (): (() => DashboardWorld) => {
  let world: DashboardWorld | undefined;
  beforeAll(async () => {
    world = await startDashboardWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });
  return () => {
    if (!world) throw new Error('The dashboard world has not started');
    return world;
  };
};

/** A device with a critical alarm above 30 on its temperature, reporting every minute. */
export const alarmedDevice = (name: string, metrics: Record<string, { unit: string }>) => ({
  name,
  location: 'Test bench',
  metrics,
  alarms: [{ metric: 'temperature', above: 30, severity: 'critical' }],
  expectedIntervalSeconds: 60,
});

/** Uncaught exceptions the page threw since it was opened. */
export const pageErrors = (page: Page): string[] =>
  (page as Page & { pageErrors?: string[] }).pageErrors ?? [];

export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
};

/** A CSS selector for the chart of one metric of one device. */
export const chart = (deviceId: string, metric: string) =>
  `figure.metric-chart[data-device-id="${deviceId}"][data-metric="${metric}"]`;

/** Readings of one device, `count` of them, `stepMs` apart, ending `endAgoMs` before now. */
export const readings = (deviceId: string, count: number, stepMs = 30_000, endAgoMs = 60_000) => {
  const end = Date.now() - endAgoMs;
  return Array.from({ length: count }, (_, i) => ({
    deviceId,
    timestamp: new Date(end - (count - 1 - i) * stepMs).toISOString(),
    metrics: { temperature: Math.round((21 + Math.sin(i / 2) * 2) * 100) / 100 },
  }));
};

export const postReadings = async (t: TestCloud, apiKey: string, items: unknown[]): Promise<void> => {
  const response = await t.api('/readings', { method: 'POST', apiKey, json: { readings: items } });
  if (response.status !== 202)
    throw new Error(`POST /readings answered ${response.status}: ${await response.text()}`);
};

/** Puts an alert event on the telemetry bus with the real EventBridge SDK client, as the enrichment workflow does. */
export const putAlertEvent = async (
  t: TestCloud,
  detailType: 'AlertRaised' | 'AlertResolved',
  data: Record<string, unknown>,
): Promise<void> => {
  const events = new EventBridgeClient(edgeClientConfig(t.cloud));
  const producedAt = new Date().toISOString();
  const answer = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: buses.telemetry.name,
          Source: 'sensorbus.enrichment',
          DetailType: detailType,
          Detail: JSON.stringify({
            metadata: {
              eventId: crypto.randomUUID(),
              idempotencyKey: `alert/${String(data.alertId)}/${detailType}`,
              correlationId: crypto.randomUUID(),
              schemaVersion: 1,
              producedAt,
            },
            data,
          }),
        },
      ],
    }),
  );
  if (answer.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(answer.Entries)}`);
};
