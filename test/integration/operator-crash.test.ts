import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SNOOZE_RETRY_WINDOW_MS } from '../../handlers/alerts/lifecycle.ts';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { buses } from '../../infra/topology.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import { type CloudProcess, cloudProcesses, freePort, kill9 } from '../support/cloud-processes.ts';
import { waitFor } from '../support/local-cloud.ts';
import { seeded } from '../support/seeded.ts';

/**
 * kill -9 of the local cloud while operators act on alerts and delete a device, and while the
 * escalation check runs (every 250 ms in these processes): after the restart, every action answered
 * 2xx has its event once on the bus and once in the alert's history, every action left unanswered
 * ends exactly once when the client retries it, and no alert is left in a state it cannot be in.
 */

const signingKey = newSigningKey();
const processes = cloudProcesses({ signingKey, awsCredentials: newAwsCredentials() });
const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-operator-crash-'));

afterAll(() => {
  processes.killAll();
  rmSync(dataDir, { recursive: true, force: true });
});

/** What the assertions read of an alert as `GET /alerts` serves it. */
interface Alert {
  timeline: { type: string; eventId: string; escalation?: number }[];
  resolvedBy?: string;
  acknowledged: boolean;
  state: 'active' | 'resolved';
  deviceId: string;
  alertId: string;
}

interface ArchivedEvent {
  'detail-type': string;
  detail: { metadata: { eventId: string }; data: { alertId?: string; escalation?: number; by?: string } };
}

/** Every event the telemetry bus accepted, from its archive on disk (it survives the kills). */
const archived = (): ArchivedEvent[] => {
  const file = join(dataDir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"Alert'))
    .map((line) => (JSON.parse(line) as { event: ArchivedEvent }).event);
};

/** The distinct event ids of one alert's events of one detail-type on the bus. */
const eventIdsOn = (events: ArchivedEvent[], detailType: string, alertId: string) =>
  new Set(
    events
      .filter((event) => event['detail-type'] === detailType && event.detail.data.alertId === alertId)
      .map((event) => event.detail.metadata.eventId),
  );

const bearer = async (role: 'admin' | 'operator') =>
  (await signToken(signingKeyFrom(signingKey), { role, deviceIds: '*' }, 3600)).token;

/** One operator action (or a device deletion), and what its client was answered. */
interface Action {
  readonly kind: 'acknowledge' | 'snooze' | 'resolve' | 'delete';
  readonly target: string;
  status?: number;
  firstSentAt?: number;
  retriedAt?: number;
}

const DEVICES = ['crash-op-0', 'crash-op-1'];
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`operators' actions with the cloud killed at random moments (seed ${SEED}; repeat with CRASH_SEED=${SEED})`, () => {
  it('every answered action is announced and recorded once, every unanswered one ends once when retried, no alert is left in an impossible state', async () => {
    const random = seeded(SEED);
    const ports = { api: await freePort(), edge: await freePort() };
    let running: CloudProcess = await processes.start(ports, dataDir);
    const admin = await bearer('admin');
    const operator = await bearer('operator');
    const call = (path: string, method: string, token: string, body?: unknown) =>
      fetch(`${running.apiUrl}${path}`, {
        method,
        // A request the restarted cloud leaves unanswered counts as unanswered, and is retried
        signal: AbortSignal.timeout(45_000),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const alertsOf = async (deviceId: string): Promise<Alert[]> => {
      const response = await call(`/alerts?deviceId=${deviceId}`, 'GET', admin);
      return response.status === 200 ? ((await response.json()) as { items: Alert[] }).items : [];
    };

    // Prepare: two devices, each with an alert raised half an hour ago that escalates every minute
    const minuteAgo = (n: number) =>
      new Date(Math.floor(Date.now() / 60_000) * 60_000 - n * 60_000).toISOString();
    const alertIds: string[] = [];
    for (const deviceId of DEVICES) {
      // Retried on a 5xx, as clients do: a function starting cold on a loaded machine may time out
      const untilNo5xx = (send: () => Promise<Response>, what: string) =>
        waitFor(
          async () => {
            const response = await send().catch(() => undefined);
            return response !== undefined && response.status < 500 && response;
          },
          what,
          120_000,
        );
      const registered = await untilNo5xx(
        () =>
          call(`/devices/${deviceId}`, 'PUT', admin, {
            alarms: [{ metric: 't', above: 50, severity: 'critical', escalateAfterMinutes: 1 }],
          }),
        `${deviceId} registered`,
      );
      const { apiKey } = (await registered.json()) as { apiKey: string };
      const posted = await untilNo5xx(
        () =>
          fetch(`${running.apiUrl}/readings`, {
            method: 'POST',
            headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
            body: JSON.stringify({ deviceId, timestamp: minuteAgo(30), metrics: { t: 80 } }),
          }),
        `the breach of ${deviceId} posted`,
      );
      expect(posted.status).toBe(202);
    }
    for (const deviceId of DEVICES) {
      const [alert] = await waitFor(
        async () => {
          const items = await alertsOf(deviceId);
          return items.length > 0 && items;
        },
        `the alert of ${deviceId}`,
        90_000,
      );
      alertIds.push(String(alert?.alertId));
    }

    // Every alert gets each action once, in a seeded order; one device is deleted among them
    const actions: Action[] = alertIds.flatMap((alertId) =>
      (['acknowledge', 'snooze', 'resolve'] as const).map((kind) => ({ kind, target: alertId })),
    );
    actions.push({ kind: 'delete', target: DEVICES[Math.floor(random() * DEVICES.length)] ?? 'crash-op-0' });
    for (let i = actions.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [actions[i], actions[j]] = [actions[j] as Action, actions[i] as Action];
    }
    const send = async (action: Action) => {
      action.firstSentAt ??= Date.now();
      const response =
        action.kind === 'delete'
          ? await call(`/devices/${action.target}`, 'DELETE', admin)
          : await call(
              `/alerts/${action.target}/${action.kind}`,
              'POST',
              operator,
              action.kind === 'snooze' ? { minutes: 60 } : undefined,
            );
      await response.body?.cancel();
      action.status = response.status;
    };

    // Act: two rounds, each sending its share of the actions two at a time and killing the cloud at
    // a seeded moment after the first answer; then a last kill at a seeded moment while nothing is
    // sent, as the restarted cloud resumes its deliveries and the escalation check runs
    const rounds = [actions.slice(0, 3), actions.slice(3)];
    const failures: string[] = [];
    // The API answers (its functions started) before a round's actions go out
    const answering = () =>
      waitFor(
        async () =>
          (await call(`/alerts?deviceId=${DEVICES[0]}`, 'GET', admin).catch(() => undefined))?.status === 200,
        'the API answering',
        120_000,
      );
    for (const share of rounds) {
      await answering();
      const queue = [...share];
      const sending = Promise.all(
        [0, 1].map(async () => {
          for (let action = queue.shift(); action; action = queue.shift())
            await send(action).catch((error: unknown) => {
              failures.push(`${action?.kind} ${action?.target}: ${String(error)}`);
            });
        }),
      );
      let sent = false;
      void sending.then(() => {
        sent = true;
      });
      await waitFor(
        () => sent || share.some((action) => action.status !== undefined),
        'a first answer',
        120_000,
      );
      const deadline = Date.now() + random() * 800;
      await waitFor(() => Date.now() >= deadline, 'the seeded moment', 5_000);
      await kill9(running.child);
      await sending;
      console.info(
        `round: ${share.map((action) => `${action.kind}=${action.status ?? 'none'}`).join(' ')}; ${failures.splice(0).length} cut off`,
      );
      running = await processes.start(ports, dataDir);
    }
    const quietDeadline = Date.now() + random() * 1000;
    await waitFor(() => Date.now() >= quietDeadline, 'the seeded moment', 5_000);
    await kill9(running.child);
    running = await processes.start(ports, dataDir);

    await answering();
    // The clients retry what was not answered 2xx (a 5xx too: a cold function on a loaded machine)
    const unanswered = actions.filter((action) => action.status === undefined || action.status >= 500);
    for (const action of unanswered) {
      action.retriedAt = Date.now();
      await waitFor(
        async () => {
          await send(action).catch(() => undefined);
          return action.status !== undefined && action.status < 500;
        },
        `the retried ${action.kind} of ${action.target}`,
        60_000,
      );
    }

    // Assess, once every event has reached the history
    const deleted = actions.find((action) => action.kind === 'delete')?.target;
    const settled = await waitFor(
      async () => {
        const events = archived();
        const alerts = (await Promise.all(DEVICES.map(alertsOf))).flat();
        const recorded = new Set(alerts.flatMap((alert) => alert.timeline.map((step) => step.eventId)));
        const pending = events.filter(
          (event) => event.detail.data.alertId !== undefined && !recorded.has(event.detail.metadata.eventId),
        );
        return alerts.length === DEVICES.length && pending.length === 0 && { alerts, events };
      },
      'every alert event recorded in the history',
      90_000,
    ).catch((error: unknown) => {
      throw new Error(`seed ${SEED}: ${String(error)}`, { cause: error });
    });
    const { alerts, events } = settled;
    const context = (alertId: string) => `seed ${SEED}, alert ${alertId}`;

    for (const action of actions) {
      // Every action ends answered, and only with what its state allows: a snooze of an alert resolved first is 409
      const allowed = action.kind === 'snooze' ? [200, 409] : action.kind === 'delete' ? [204] : [200];
      expect(allowed, `seed ${SEED}: ${action.kind} ${action.target} answered ${action.status}`).toContain(
        action.status,
      );
    }
    for (const alert of alerts) {
      const mine = (kind: Action['kind']) =>
        actions.find((action) => action.kind === kind && action.target === alert.alertId);
      const steps = (type: string) => alert.timeline.filter((step) => step.type === type);
      const id = context(alert.alertId);

      // Raised, acknowledged and resolved: once each, on the bus (by event id) and in the history
      for (const type of ['AlertRaised', 'AlertAcknowledged', 'AlertResolved']) {
        expect(eventIdsOn(events, type, alert.alertId).size, `${id}: ${type} on the bus`).toBe(1);
        expect(steps(type), `${id}: ${type} in the history`).toHaveLength(1);
      }
      // Snoozed once when answered 200 at the first try or retried within the retry window; a retry
      // after the window is a new snooze, and a 409 (resolved first) may follow a first attempt's event
      const snooze = mine('snooze');
      const snoozes = eventIdsOn(events, 'AlertSnoozed', alert.alertId).size;
      expect(steps('AlertSnoozed'), `${id}: snoozes in the history`).toHaveLength(snoozes);
      const late =
        snooze?.retriedAt !== undefined &&
        snooze.retriedAt - (snooze.firstSentAt ?? 0) > SNOOZE_RETRY_WINDOW_MS;
      if (snooze?.status === 200) expect(snoozes, `${id}: AlertSnoozed`).toBeOneOf(late ? [1, 2] : [1]);
      else expect(snoozes, `${id}: AlertSnoozed after a 409`).toBeLessThanOrEqual(1);
      // No escalation period announced twice, none recorded twice
      const periods = events
        .filter(
          (event) => event['detail-type'] === 'AlertEscalated' && event.detail.data.alertId === alert.alertId,
        )
        .map((event) => `${event.detail.data.escalation}/${event.detail.metadata.eventId}`);
      expect(new Set(periods).size, `${id}: escalation periods`).toBe(
        new Set(periods.map((period) => period.split('/')[0])).size,
      );
      const recordedPeriods = steps('AlertEscalated').map((step) => step.escalation);
      expect(new Set(recordedPeriods).size, `${id}: escalations in the history`).toBe(recordedPeriods.length);
      // A possible state: resolved (every alert was resolved by hand or by its device's deletion), acknowledged, `by` as announced
      const resolved = events.find(
        (event) => event['detail-type'] === 'AlertResolved' && event.detail.data.alertId === alert.alertId,
      );
      expect(alert, id).toMatchObject({ state: 'resolved', acknowledged: true });
      expect(alert.resolvedBy, id).toBe(resolved?.detail.data.by);
      expect(alert.resolvedBy, id).toMatch(
        alert.deviceId === deleted ? /^(admin|operator)\// : /^operator\//,
      );
    }
    expect((await call(`/devices/${deleted}`, 'GET', admin)).status).toBe(404);
    console.info(
      `operator crash (seed ${SEED}): ${actions.length} actions, ${unanswered.length} retried after a kill; ${events.length} alert events`,
    );
    await kill9(running.child);
  }, 420_000);
});
