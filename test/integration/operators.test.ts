import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { INDEX } from '../../handlers/lib/table-indexes.ts';
import { buses, tables } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import {
  edgeAdmin,
  edgeDynamo,
  startTestCloud,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';
import { seeded } from '../support/seeded.ts';

let t: TestCloud;
const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-operators-'));

beforeAll(async () => {
  t = await startTestCloud({ dataDir });
});
afterAll(async () => {
  await t.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Alert {
  alertId: string;
  deviceId: string;
  state: 'active' | 'resolved';
  acknowledged: boolean;
  acknowledgedBy?: string;
  snoozedUntil?: string;
  resolvedBy?: string;
  timeline: { type: string; by?: string; escalation?: number }[];
}

/** Whole minutes before now, so readings are never in the future and keep their order. */
const minutesAgo = (n: number) =>
  new Date(Math.floor(Date.now() / 60_000) * 60_000 - n * 60_000).toISOString();

const token = async (role: 'viewer' | 'operator' | 'admin', deviceIds: string[] | '*') => {
  const response = await t.api('/tokens', { method: 'POST', token: t.adminToken, json: { role, deviceIds } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
};

const settle = async () => {
  for (let round = 0; round < 3; round++) {
    await streamDrained(t);
    await waitFor(() => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0, 'deliveries');
    await t.cloud.stepFunctions.idle();
    await t.cloud.sns.idle();
  }
};

const post = async (apiKey: string, deviceId: string, timestamp: string, metrics: Record<string, number>) =>
  t.api('/readings', { method: 'POST', apiKey, json: { deviceId, timestamp, metrics } });

const alertsOf = async (deviceId: string, query = ''): Promise<Alert[]> => {
  const response = await t.api(`/alerts?deviceId=${deviceId}${query}`, { token: t.adminToken });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Alert[] }).items;
};

/** The first enrichment of a test file starts the workflow's functions cold: give it time. */
const activeAlertOf = (deviceId: string) =>
  waitFor(
    async () => (await alertsOf(deviceId, '&state=active'))[0],
    `an active alert of ${deviceId}`,
    60_000,
  );

/** The first test meets every function cold on a loaded machine. */
const COLD_START_TIMEOUT_MS = 90_000;

const act = (alertId: string, action: string, bearer: string, json?: unknown) =>
  t.api(`/alerts/${alertId}/${action}`, { method: 'POST', token: bearer, ...(json ? { json } : {}) });

/** Events of one detail-type about one alert on the telemetry bus, as accepted (duplicates included). */
const telemetry = (detailType: string, alertId: string) =>
  t.busEvents.filter(
    ({ bus, event }) =>
      bus === buses.telemetry.name &&
      event['detail-type'] === detailType &&
      (event.detail.data as { alertId?: string }).alertId === alertId,
  );

const eventIdsOf = (events: ReturnType<typeof telemetry>) =>
  new Set(events.map(({ event }) => (event.detail.metadata as { eventId: string }).eventId));

const mailAbout = (to: string, detailType: string) =>
  t.cloud.sns.mail().filter((mail) => mail.to === to && mail.subject.startsWith(detailType));

/** A device with one alarm, and an alert raised by a breaching reading. */
const deviceInAlarm = async (deviceId: string, alarm: Record<string, unknown> = {}) => {
  const apiKey = await t.registerDevice(deviceId, {
    alarms: [{ metric: 't', above: 30, severity: 'critical', ...alarm }],
  });
  expect((await post(apiKey, deviceId, minutesAgo(30), { t: 35 })).status).toBe(202);
  return { apiKey, alert: await activeAlertOf(deviceId) };
};

describe('roles', () => {
  it(
    'issues viewer, operator and admin tokens; a viewer may read but gets 403 on every action, an operator only on its devices',
    async () => {
      const { alert } = await deviceInAlarm('op-roles-a');
      await t.registerDevice('op-roles-b');
      const viewer = await token('viewer', '*');
      const operatorOfB = await token('operator', ['op-roles-b']);
      const operatorOfA = await token('operator', ['op-roles-a']);

      const viewerAnswers = await Promise.all([
        act(alert.alertId, 'acknowledge', viewer),
        act(alert.alertId, 'snooze', viewer, { minutes: 15 }),
        act(alert.alertId, 'resolve', viewer),
      ]);
      const otherDevice = await Promise.all([
        act(alert.alertId, 'acknowledge', operatorOfB),
        act(alert.alertId, 'snooze', operatorOfB, { minutes: 15 }),
        act(alert.alertId, 'resolve', operatorOfB),
      ]);
      const viewerReads = await t.api('/alerts?deviceId=op-roles-a', { token: viewer });
      const operatorAdmins = await t.api('/tokens', {
        method: 'POST',
        token: operatorOfA,
        json: { role: 'viewer', deviceIds: '*' },
      });
      const own = await act(alert.alertId, 'acknowledge', operatorOfA);

      expect(viewerAnswers.map((r) => r.status)).toEqual([403, 403, 403]);
      expect(otherDevice.map((r) => r.status)).toEqual([403, 403, 403]);
      expect(viewerReads.status).toBe(200);
      expect(operatorAdmins.status).toBe(403);
      expect(own.status).toBe(200);
      expect(((await own.json()) as { alert: Alert }).alert.acknowledgedBy).toMatch(/^operator\//);
    },
    COLD_START_TIMEOUT_MS,
  );
});

describe('alarm lifecycle', () => {
  it('acknowledges once under retries, and an acknowledged alert still resolves when the device recovers', async () => {
    const { apiKey, alert } = await deviceInAlarm('op-ack');
    const operator = await token('operator', ['op-ack']);

    const answers = await Promise.all([1, 2, 3].map(() => act(alert.alertId, 'acknowledge', operator)));
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { alert: Alert }[];
    await settle();
    expect((await post(apiKey, 'op-ack', new Date().toISOString(), { t: 20 })).status).toBe(202);
    await settle();

    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(bodies.map((b) => b.alert.acknowledgedBy)).size).toBe(1);
    expect(eventIdsOf(telemetry('AlertAcknowledged', alert.alertId)).size).toBe(1);
    const [after] = await alertsOf('op-ack');
    expect(after).toMatchObject({ alertId: alert.alertId, state: 'resolved', acknowledged: true });
    expect(after?.timeline.map((step) => step.type)).toEqual([
      'AlertRaised',
      'AlertAcknowledged',
      'AlertResolved',
    ]);
    expect(await alertsOf('op-ack', '&acknowledged=false')).toEqual([]);
  });

  it('snoozes: retried the same way it is one snooze; nothing is mailed for the alert meanwhile, yet it resolves', async () => {
    const subscribed = await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'email', endpoint: 'snooze@example.com', deviceIds: ['op-snooze'] },
    });
    expect(subscribed.status).toBe(201);
    const { apiKey, alert } = await deviceInAlarm('op-snooze');
    const operator = await token('operator', '*');

    const first = await act(alert.alertId, 'snooze', operator, { minutes: 60 });
    const retry = await act(alert.alertId, 'snooze', operator, { minutes: 60 });
    await settle();
    expect((await post(apiKey, 'op-snooze', minutesAgo(20), { t: 20 })).status).toBe(202);
    await settle();

    const snoozed = ((await first.json()) as { alert: Alert }).alert;
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(((await retry.json()) as { alert: Alert }).alert.snoozedUntil).toBe(snoozed.snoozedUntil);
    expect(eventIdsOf(telemetry('AlertSnoozed', alert.alertId)).size).toBe(1);
    expect(telemetry('AlertResolved', alert.alertId)).toHaveLength(1);
    expect((await alertsOf('op-snooze'))[0]).toMatchObject({ state: 'resolved' });
    expect(mailAbout('snooze@example.com', 'AlertRaised')).toHaveLength(1);
    expect(mailAbout('snooze@example.com', 'AlertSnoozed')).toHaveLength(1);
    expect(mailAbout('snooze@example.com', 'AlertResolved')).toHaveLength(0);
    const tooLong = await act(alert.alertId, 'snooze', operator, { minutes: 10_081 });
    expect(tooLong.status).toBe(400);
    const resolvedAlready = await act(alert.alertId, 'snooze', operator, { minutes: 30 });
    expect(resolvedAlready.status).toBe(409);
  });

  it('resolves by hand once, with `by`, and the next breach raises a new alert', async () => {
    const { apiKey, alert } = await deviceInAlarm('op-resolve');
    const operator = await token('operator', ['op-resolve']);

    const answers = [
      await act(alert.alertId, 'resolve', operator),
      await act(alert.alertId, 'resolve', operator),
    ];
    await settle();
    expect((await post(apiKey, 'op-resolve', minutesAgo(-1), { t: 36 })).status).toBe(202);
    await settle();

    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const resolved = telemetry('AlertResolved', alert.alertId);
    expect(eventIdsOf(resolved).size).toBe(1);
    expect(resolved[0]?.event.detail.data).toMatchObject({ by: expect.stringMatching(/^operator\//) });
    const items = await alertsOf('op-resolve');
    expect(items.map((a) => a.state).sort()).toEqual(['active', 'resolved']);
    const byHand = items.find((a) => a.alertId === alert.alertId);
    expect(byHand?.resolvedBy).toMatch(/^operator\//);
    expect(byHand?.timeline.at(-1)).toMatchObject({ type: 'AlertResolved', by: byHand?.resolvedBy });
  });
});

describe('escalation', () => {
  const escalateAt = (time: Date) => t.cloud.lambda.invoke('alertEscalation', { time: time.toISOString() });

  it('notifies again once per period while nobody reacts, never twice for a period, and stops once acknowledged', async () => {
    await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'email', endpoint: 'pager@example.com', deviceIds: ['op-escalate'] },
    });
    const { alert } = await deviceInAlarm('op-escalate', { escalateAfterMinutes: 5 });
    const raisedAt = Date.parse(minutesAgo(30));
    const afterRaise = (minutes: number) => new Date(raisedAt + minutes * 60_000);

    await escalateAt(afterRaise(4));
    await settle();
    const early = mailAbout('pager@example.com', 'AlertEscalated').length;
    await escalateAt(afterRaise(5));
    await escalateAt(afterRaise(5));
    await Promise.all([escalateAt(afterRaise(11)), escalateAt(afterRaise(11)), escalateAt(afterRaise(12))]);
    await settle();
    const escalations = telemetry('AlertEscalated', alert.alertId);
    const operator = await token('operator', '*');
    expect((await act(alert.alertId, 'acknowledge', operator)).status).toBe(200);
    await escalateAt(afterRaise(16));
    await settle();

    expect(early).toBe(0);
    expect(eventIdsOf(escalations).size).toBe(2);
    expect(
      escalations.map(({ event }) => (event.detail.data as { escalation: number }).escalation).sort(),
    ).toEqual(expect.arrayContaining([1, 2]));
    expect(mailAbout('pager@example.com', 'AlertEscalated')).toHaveLength(2);
    expect(eventIdsOf(telemetry('AlertEscalated', alert.alertId)).size).toBe(2);
    const [record] = await alertsOf('op-escalate');
    expect(
      record?.timeline.filter((step) => step.type === 'AlertEscalated').map((s) => s.escalation),
    ).toEqual([1, 2]);
  });
});

describe('device lifecycle', () => {
  it(
    'deletes a device: its key gets 401 on the very next request, its subscriptions end, its active alerts resolve',
    async () => {
      const { apiKey, alert } = await deviceInAlarm('op-delete');
      expect((await post(apiKey, 'op-delete', minutesAgo(29), { t: 36 })).status).toBe(202);
      const socket = new WebSocket(
        `${t.cloud.wsUrl}/?token=${encodeURIComponent(await token('viewer', '*'))}`,
      );
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ action: 'subscribe', deviceIds: ['op-delete'] }));
      const subscriptions = () =>
        edgeDynamo(t.cloud)
          .send(
            new QueryCommand({
              TableName: tables.connections.name,
              IndexName: INDEX.connectionsByDevice,
              KeyConditionExpression: 'deviceId = :d',
              ExpressionAttributeValues: { ':d': 'op-delete' },
            }),
          )
          .then((page) => page.Items ?? []);
      await waitFor(async () => (await subscriptions()).length === 1, 'the dashboard subscribed');

      const deleted = await t.api('/devices/op-delete', { method: 'DELETE', token: t.adminToken });
      const next = await post(apiKey, 'op-delete', minutesAgo(28), { t: 20 });
      const again = await t.api('/devices/op-delete', { method: 'DELETE', token: t.adminToken });
      await settle();
      socket.close();

      expect(deleted.status).toBe(204);
      expect(next.status).toBe(401);
      expect(again.status).toBe(204);
      expect((await t.api('/devices/op-delete', { token: t.adminToken })).status).toBe(404);
      expect((await t.api('/devices/op-delete/readings', { token: t.adminToken })).status).toBe(404);
      expect(await subscriptions()).toEqual([]);
      const [closed] = await alertsOf('op-delete');
      expect(closed).toMatchObject({
        alertId: alert.alertId,
        state: 'resolved',
        resolvedBy: expect.stringMatching(/^admin\//),
      });
      expect(eventIdsOf(telemetry('AlertResolved', alert.alertId)).size).toBe(1);
      expect((await t.api('/devices/op-never', { method: 'DELETE', token: t.adminToken })).status).toBe(404);
      const operator = await token('operator', '*');
      expect((await t.api('/devices/op-roles-b', { method: 'DELETE', token: operator })).status).toBe(403);
    },
    COLD_START_TIMEOUT_MS,
  );

  it('rotates a key: without grace the old key is refused at once; with grace it works until the grace ends, never after', async () => {
    const first = await t.registerDevice('op-rotate');
    const rotate = (json?: unknown) =>
      t.api('/devices/op-rotate/keys', { method: 'POST', token: t.adminToken, ...(json ? { json } : {}) });

    const noGrace = await rotate();
    const second = ((await noGrace.json()) as { apiKey: string }).apiKey;
    const oldAtOnce = await post(first, 'op-rotate', minutesAgo(10), { t: 1 });
    const secondWorks = await post(second, 'op-rotate', minutesAgo(9), { t: 1 });
    const withGrace = await rotate({ graceSeconds: 2 });
    const third = ((await withGrace.json()) as { apiKey: string }).apiKey;
    const secondInGrace = await post(second, 'op-rotate', minutesAgo(8), { t: 1 });
    const thirdWorks = await post(third, 'op-rotate', minutesAgo(7), { t: 1 });
    let minute = 6;
    await waitFor(
      async () => (await post(second, 'op-rotate', minutesAgo(minute--), { t: 1 })).status === 401,
      'the grace to end',
    );
    const afterGrace = await post(second, 'op-rotate', minutesAgo(0), { t: 1 });
    const bad = await rotate({ graceSeconds: 86_401 });

    expect(noGrace.status).toBe(201);
    expect([oldAtOnce.status, secondWorks.status]).toEqual([401, 202]);
    expect(withGrace.status).toBe(201);
    expect([secondInGrace.status, thirdWorks.status, afterGrace.status]).toEqual([202, 202, 401]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe(
      'graceSeconds',
    );
    const put = await t.api('/devices/op-rotate', {
      method: 'PUT',
      token: t.adminToken,
      json: { name: 'x' },
    });
    expect(put.status).toBe(200);
    expect((await post(third, 'op-rotate', minutesAgo(-1), { t: 1 })).status).toBe(202);
  });
});

describe('alert subscriptions', () => {
  it('lists subscriptions with their filters, deletes one, and the unsubscribe link in an alert email works', async () => {
    const subscribe = (endpoint: string, deviceIds?: string[]) =>
      t.api('/alert-subscriptions', {
        method: 'POST',
        token: t.adminToken,
        json: { protocol: 'email', endpoint, ...(deviceIds ? { deviceIds } : {}) },
      });
    await subscribe('keep@example.com', ['op-sub']);
    await subscribe('drop@example.com');
    await subscribe('link@example.com', ['op-sub']);
    const list = async () =>
      (
        (await (await t.api('/alert-subscriptions', { token: t.adminToken })).json()) as {
          items: { subscriptionId: string; endpoint: string; deviceIds?: string[] }[];
        }
      ).items;
    const drop = (await list()).find((s) => s.endpoint === 'drop@example.com');

    const deleted = await t.api(`/alert-subscriptions/${drop?.subscriptionId}`, {
      method: 'DELETE',
      token: t.adminToken,
    });
    const missing = await t.api(`/alert-subscriptions/${drop?.subscriptionId}`, {
      method: 'DELETE',
      token: t.adminToken,
    });
    await deviceInAlarm('op-sub');
    await settle();
    const mail = await waitFor(() => mailAbout('link@example.com', 'AlertRaised')[0], 'the alert email');
    const link = /^(http:\/\/\S+Action=Unsubscribe\S+)$/m.exec(mail.body)?.[1];
    const followed = await fetch(String(link));

    expect(deleted.status).toBe(204);
    expect(missing.status).toBe(404);
    expect(followed.status).toBe(200);
    const endpoints = (await list()).map((s) => s.endpoint);
    expect(endpoints).toContain('keep@example.com');
    expect(endpoints).not.toContain('drop@example.com');
    expect(endpoints).not.toContain('link@example.com');
    expect((await list()).find((s) => s.endpoint === 'keep@example.com')?.deviceIds).toEqual(['op-sub']);
    const viewer = await token('viewer', '*');
    expect((await t.api('/alert-subscriptions', { token: viewer })).status).toBe(403);
  });
});

const RACE_SEED = Number(process.env.RACE_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`races (seed ${RACE_SEED}; repeat with RACE_SEED=${RACE_SEED})`, () => {
  it('an operator resolving by hand as the device recovers: one AlertResolved per alert on the bus and in the history, whichever wins', async () => {
    const random = seeded(RACE_SEED);
    const deviceId = 'op-race';
    const apiKey = await t.registerDevice(deviceId, {
      alarms: [{ metric: 't', above: 30, severity: 'warning' }],
    });
    const operator = await token('operator', [deviceId]);
    const alertIds: string[] = [];
    const ROUNDS = 6;
    // Readings are stamped now: a resolve by hand closes the alarm's state as of its own moment,
    // so each round's breach must come after the previous round's resolve, whichever side won it.
    let lastRecovery = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Prepare: a new alert, raised by a breaching reading
      const breach = Math.max(Date.now(), lastRecovery + 100);
      lastRecovery = breach + 100;
      const posted = Date.now();
      expect((await post(apiKey, deviceId, new Date(breach).toISOString(), { t: 35 })).status).toBe(202);
      const raised = await waitFor(
        async () =>
          (await alertsOf(deviceId, '&state=active')).find((alert) => !alertIds.includes(alert.alertId)),
        `the alert of round ${round}`,
        60_000,
      );
      alertIds.push(raised.alertId);
      // How long a reading took to become an alert: the recovery's evaluation lands about as late
      const pipeline = Date.now() - posted;

      // Act: the recovering reading and the operator's resolve (and its retry) at once, the resolve a
      // seeded moment later, spread over the time the recovery takes to be evaluated so either may win
      const offset = Math.floor(random() * pipeline * 1.5);
      const answers = await Promise.all([
        post(apiKey, deviceId, new Date(lastRecovery).toISOString(), { t: 20 }),
        new Promise((resolve) => setTimeout(resolve, offset)).then(() =>
          Promise.all([act(raised.alertId, 'resolve', operator), act(raised.alertId, 'resolve', operator)]),
        ),
      ]);
      expect(answers[0].status).toBe(202);
      expect(answers[1].map((answer) => answer.status)).toEqual([200, 200]);
      await settle();
    }

    // Assess: per alert, exactly one AlertResolved event id on the bus and one step in the history
    const history = await alertsOf(deviceId);
    const byHand = alertIds.filter((alertId) =>
      telemetry('AlertResolved', alertId).some(({ event }) => (event.detail.data as { by?: string }).by),
    );
    for (const alertId of alertIds) {
      expect(eventIdsOf(telemetry('AlertResolved', alertId)).size, alertId).toBe(1);
      const alert = history.find((item) => item.alertId === alertId);
      expect(alert?.state, alertId).toBe('resolved');
      expect(
        alert?.timeline.filter((step) => step.type === 'AlertResolved'),
        alertId,
      ).toHaveLength(1);
      expect(alert?.resolvedBy !== undefined, alertId).toBe(byHand.includes(alertId));
    }
    console.info(
      `races: ${byHand.length} of ${ROUNDS} alerts resolved by hand, ${ROUNDS - byHand.length} by their device`,
    );
  }, 240_000);

  it('a device deleted while its raise is still on its way to the history: the alert resolves once it lands, in the deleter’s name', async () => {
    const deviceId = 'op-race-delete';
    const apiKey = await t.registerDevice(deviceId, {
      alarms: [{ metric: 't', above: 30, severity: 'critical' }],
    });
    const faults = (init: { method: string; json?: unknown }) =>
      edgeAdmin(t.cloud, '/_sensorbus/faults', init);
    const injected = await faults({
      method: 'POST',
      json: { service: 'target', operation: localArns.function('alertHistory'), mode: 'error' },
    });
    expect(injected.status).toBe(200);

    // Act: the raise reaches the bus but not the history; the device is deleted; the history recovers
    expect((await post(apiKey, deviceId, minutesAgo(30), { t: 35 })).status).toBe(202);
    const raise = await waitFor(
      () =>
        t.busEvents.find(
          ({ bus, event }) =>
            bus === buses.telemetry.name &&
            event['detail-type'] === 'AlertRaised' &&
            (event.detail.data as { deviceId?: string }).deviceId === deviceId,
        ),
      'the raise on the bus',
      60_000,
    );
    const alertId = (raise.event.detail.data as { alertId: string }).alertId;
    expect(await alertsOf(deviceId)).toEqual([]);
    const deleted = await t.api(`/devices/${deviceId}`, { method: 'DELETE', token: t.adminToken });
    expect((await faults({ method: 'DELETE' })).status).toBe(200);
    await waitFor(
      async () => (await alertsOf(deviceId))[0]?.state === 'resolved',
      'the alert resolved',
      60_000,
    );
    await settle();

    // Assess: no alert of the deleted device stays active; one AlertResolved, in the deleter's name
    expect(deleted.status).toBe(204);
    expect(await alertsOf(deviceId, '&state=active')).toEqual([]);
    const [alert] = await alertsOf(deviceId);
    expect(alert).toMatchObject({
      alertId,
      state: 'resolved',
      resolvedBy: expect.stringMatching(/^admin\//),
    });
    expect(eventIdsOf(telemetry('AlertResolved', alertId)).size).toBe(1);
    expect(alert?.timeline.map((step) => step.type)).toEqual(['AlertRaised', 'AlertResolved']);
  }, 120_000);
});
