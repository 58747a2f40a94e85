import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdOf } from '../../handlers/lib/ids.ts';
import { buses } from '../../infra/topology.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
let events: EventBridgeClient;
const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-alerts-'));

beforeAll(async () => {
  t = await startTestCloud({ dataDir });
  events = new EventBridgeClient(edgeClientConfig(t.cloud));
});
afterAll(async () => {
  await t.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const raise = (deviceId: string, severity: 'warning' | 'critical', key: string) =>
  events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: buses.telemetry.name,
          Source: 'sensorbus.enrichment',
          DetailType: 'AlertRaised',
          Detail: JSON.stringify({
            metadata: {
              eventId: eventIdOf('AlertRaised', key),
              idempotencyKey: key,
              correlationId: 'c',
              schemaVersion: 1,
              producedAt: '2026-11-23T10:00:01.000Z',
            },
            data: {
              alertId: key,
              summary: 'temperature 31.2 °C is above 30 °C',
              deviceId,
              severity,
              time: '2026-11-23T10:00:00.000Z',
              kind: 'threshold',
              metric: 'temperature',
              value: 31.2,
              above: 30,
              readingTimestamp: '2026-11-23T10:00:00.000Z',
            },
          }),
        },
      ],
    }),
  );

const notificationsTo = (address: string) =>
  t.cloud.sns
    .mail()
    .filter((mail) => mail.to === address && !mail.subject.includes('Subscription Confirmation'));

describe('alerts', () => {
  it('subscribes with a filter policy and mails each alert once, readable, only to matching subscribers', async () => {
    const subscribe = (body: unknown) =>
      t.api('/alert-subscriptions', { method: 'POST', token: t.adminToken, json: body });
    const onlyOne = await subscribe({
      protocol: 'email',
      endpoint: 'one@example.com',
      deviceIds: ['alert-1'],
    });
    const criticalOnly = await subscribe({
      protocol: 'email',
      endpoint: 'oncall@example.com',
      severities: ['critical'],
    });
    const everything = await subscribe({ protocol: 'email', endpoint: 'all@example.com' });
    expect([onlyOne.status, criticalOnly.status, everything.status]).toEqual([201, 201, 201]);
    expect(((await onlyOne.json()) as { subscriptionArn: string }).subscriptionArn).toMatch(
      /^arn:aws:sns:.*:sensorbus-alerts:/,
    );

    await raise('alert-1', 'warning', 'k1');
    await raise('alert-2', 'critical', 'k2');
    await raise('alert-1', 'warning', 'k1');
    await waitFor(
      () => notificationsTo('all@example.com').length === 2,
      'both alerts for the catch-all subscriber',
    );
    await t.cloud.sns.idle();

    expect(notificationsTo('one@example.com').map((m) => m.subject)).toEqual([
      'AlertRaised (warning): alert-1',
    ]);
    expect(notificationsTo('oncall@example.com').map((m) => m.subject)).toEqual([
      'AlertRaised (critical): alert-2',
    ]);
    const mail = notificationsTo('one@example.com')[0];
    expect(mail?.body).toContain(
      'AlertRaised for device alert-1 at 2026-11-23T10:00:00.000Z: temperature 31.2 °C is above 30 °C',
    );
    const files = readdirSync(join(dataDir, 'mail')).filter((f) => f.endsWith('.eml'));
    expect(
      files.some((f) =>
        readFileSync(join(dataDir, 'mail', f), 'utf8').includes('Subject: AlertRaised (warning): alert-1'),
      ),
    ).toBe(true);
  });

  it('rejects a bad subscription naming the field', async () => {
    const response = await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'https', endpoint: 'http://plain.example.com', severities: ['meh'] },
    });
    const body = (await response.json()) as { error: { details: { path: string }[] } };
    expect(response.status).toBe(400);
    expect(body.error.details.map((d) => d.path).sort()).toEqual(['endpoint', 'severities.0']);
    const viewer = await t.api('/alert-subscriptions', {
      method: 'POST',
      token: await t.viewerToken('*'),
      json: { protocol: 'email', endpoint: 'x@example.com' },
    });
    expect(viewer.status).toBe(403);
  });

  it('answers 409 naming the endpoint when it is subscribed again with another filter, keeping the first', async () => {
    const subscribe = (deviceIds: string[]) =>
      t.api('/alert-subscriptions', {
        method: 'POST',
        token: t.adminToken,
        json: { protocol: 'email', endpoint: 'twice@example.com', deviceIds },
      });
    expect((await subscribe(['alert-1'])).status).toBe(201);
    const again = await subscribe(['alert-1']);
    const other = await subscribe(['alert-2']);
    const body = (await other.json()) as { error: { code: string; details: { path: string }[] } };
    expect(again.status).toBe(201);
    expect(other.status).toBe(409);
    expect(body.error.code).toBe('Conflict');
    expect(body.error.details.map((d) => d.path)).toEqual(['endpoint']);
  });
});
