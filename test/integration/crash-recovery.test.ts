import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IdempotencyRecordStatus,
  PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS,
} from '@aws-lambda-powertools/idempotency';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { functionLimits } from '../../infra/api.ts';
import { tables } from '../../infra/resources.ts';
import { buses, stateMachines } from '../../infra/topology.ts';
import { sentAtOfMailFile } from '../../local-cloud/emulators/sns/mailbox.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import { type CloudProcess, cloudProcesses, freePort, kill9 } from '../support/cloud-processes.ts';
import { type EdgeAccess, edgeAdmin, edgeDynamo, storedReadings, waitFor } from '../support/local-cloud.ts';
import { seeded } from '../support/seeded.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-crash-'));
const dataDirs = [dataDir];
const signingKey = newSigningKey();
const awsCredentials = newAwsCredentials();
// No scheduled functions: no device here has an expected interval or an escalation, and each schedule
// would start cold after every restart and then scan the devices table four times a second
const processes = cloudProcesses({ signingKey, awsCredentials, env: { TEST_SCHEDULE_INTERVAL_MS: '0' } });
const startProcess = (ports: { api: number; edge: number }, dir = dataDir) => processes.start(ports, dir);

/**
 * The process on the file's data folder that the previous test left running, handed on so the next
 * test need not start another (each start is seconds of cold starts on a loaded machine); a test
 * run on its own starts one.
 */
let handedOn: { process: CloudProcess; ports: { api: number; edge: number } } | undefined;
const processOnDataDir = async () => {
  const running = handedOn;
  handedOn = undefined;
  if (running) return running;
  const ports = { api: await freePort(), edge: await freePort() };
  return { process: await startProcess(ports), ports };
};

/** The readings the archived `ReadingRecorded` (v2) events of a device carried, each with the id of the event carrying it. */
const archivedRecordedReadingIds = (deviceId: string) => {
  const file = join(dataDir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"deviceId":"${deviceId}"`) && line.includes('"ReadingRecorded"'))
    .flatMap((line) => {
      const { detail } = (
        JSON.parse(line) as {
          event: { detail: { metadata: { eventId: string }; data: { readings: { readingId: string }[] } } };
        }
      ).event;
      return detail.data.readings.map(({ readingId }) => ({ readingId, eventId: detail.metadata.eventId }));
    });
};

const archivedRecorded = (readingId: string) => {
  const file = join(dataDir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(readingId))
    .map(
      (line) =>
        JSON.parse(line) as { event: { 'detail-type': string; detail: { metadata: { eventId: string } } } },
    )
    .filter((archived) => archived.event['detail-type'] === 'ReadingRecorded');
};

afterAll(() => {
  processes.killAll();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** Registers a device through the API of a running process, as an admin would; answers its key. */
const registerDevice = async (apiUrl: string, deviceId: string): Promise<string> => {
  const { token: admin } = await signToken(
    signingKeyFrom(signingKey),
    { role: 'admin', deviceIds: '*' },
    600,
  );
  const registered = await fetch(`${apiUrl}/devices/${deviceId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return ((await registered.json()) as { apiKey: string }).apiKey;
};

describe('a process killed between store and emit', () => {
  it('emits the acknowledged reading after restart, once, from the stream, and the device retry is a duplicate', async () => {
    // Prepare: a running system with a device, and a bus that never answers
    const { process: first, ports } = await processOnDataDir();
    const apiKey = await registerDevice(first.apiUrl, 'crash-1');
    const injected = await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { service: 'events', operation: 'PutEvents', mode: 'hang' },
    });
    expect(injected.status).toBe(200);
    const reading = { deviceId: 'crash-1', timestamp: '2026-11-20T08:00:00Z', metrics: { t: 7 } };
    const post = () =>
      fetch(`${first.apiUrl}/readings`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(reading),
      });

    // Act: the reading is stored and acknowledged, the announcer's emit hangs, and the process dies
    const acknowledged = await post();
    const [stored] = await storedReadings(first.edge, 'crash-1');
    first.child.kill('SIGKILL');
    const readingId = String(stored?.readingId);
    expect(acknowledged.status).toBe(202);
    expect(archivedRecorded(readingId)).toHaveLength(0);

    const second = await startProcess(ports);

    // Assess: the announcer of the new process takes the record from the stream and emits it, exactly once
    const emitted = await waitFor(
      () => {
        const found = archivedRecorded(readingId);
        return found.length > 0 ? found : undefined;
      },
      'ReadingRecorded after restart',
      120_000,
    );
    const retry = await fetch(`${second.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(reading),
    });

    expect(emitted).toHaveLength(1);
    expect(await retry.json()).toMatchObject({ readingId, duplicate: true });
    expect(await storedReadings(second.edge, 'crash-1')).toHaveLength(1);
    expect(archivedRecorded(readingId)).toHaveLength(1);
    handedOn = { process: second, ports };
  }, 240_000);
});

describe('a process killed mid-batch', () => {
  it('ends with every reading of the retried batch stored once, announced and enriched', async () => {
    const { process: first, ports } = await processOnDataDir();
    const apiKey = await registerDevice(first.apiUrl, 'crash-batch');
    const batch = {
      readings: Array.from({ length: 100 }, (_, i) => ({
        deviceId: 'crash-batch',
        // An hour apart: each reading is its hour item's own write, so the process can die between them.
        timestamp: new Date(Date.UTC(2026, 10, 21, i, 0, 0)).toISOString(),
        metrics: { t: i },
      })),
    };
    const post = (apiUrl: string) =>
      fetch(`${apiUrl}/readings`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
    // 10 puts go through (each creates an hour item), then the store stops answering: the process
    // dies mid-batch. The stream's consumers may spend some of the 10 (the rollups put too), so
    // fewer readings may be stored; few, so the hang comes well within the function's timeout.
    const hangs = 1000;
    const injected = await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { service: 'dynamodb', operation: 'PutItem', mode: 'hang', after: 10, times: hangs },
    });
    expect(injected.status).toBe(200);

    const inFlight = post(first.apiUrl).catch((error: unknown) => error);
    await waitFor(
      async () => {
        const { faults } = (await (await edgeAdmin(first.edge, '/_sensorbus/faults')).json()) as {
          faults: { remaining: number | null }[];
        };
        return (faults[0]?.remaining ?? hangs) < hangs;
      },
      'a put left hanging',
      60_000,
    );
    const storedBeforeKill = (await storedReadings(first.edge, 'crash-batch')).length;
    first.child.kill('SIGKILL');
    expect(await inFlight).toBeInstanceOf(Error);

    const second = await startProcess(ports);
    // The device retries as devices do on a 5xx (a freshly started function may answer 502 on a loaded machine).
    const retried = await waitFor(
      async () => {
        const response = await post(second.apiUrl);
        return response.status < 500 && response;
      },
      'the retried batch answered without a 5xx',
      60_000,
    );
    const answer = (await retried.json()) as { accepted: number; results: { duplicate: boolean }[] };
    await waitFor(
      async () => {
        const stored = await storedReadings(second.edge, 'crash-batch');
        return stored.length === 100 && stored.every((item) => item.enrichment !== undefined);
      },
      'every reading stored, emitted and enriched',
      30_000,
    );

    expect(retried.status).toBe(202);
    expect(storedBeforeKill).toBeGreaterThan(0);
    expect(storedBeforeKill).toBeLessThan(100);
    expect(answer.results.filter((r) => r.duplicate).length).toBeGreaterThanOrEqual(storedBeforeKill);
    // Every reading was announced (in ReadingRecorded v2 events, each carrying a run of an upload).
    // A stream batch in flight at the kill is delivered again after the restart (at-least-once),
    // as the same readings under the same event id: consumers drop the repeat by its id.
    const idsPerReading = new Map<string, Set<string>>();
    for (const { readingId, eventId } of archivedRecordedReadingIds('crash-batch'))
      idsPerReading.set(readingId, (idsPerReading.get(readingId) ?? new Set()).add(eventId));
    expect(idsPerReading.size).toBe(100);
    expect(Math.max(...[...idsPerReading.values()].map((ids) => ids.size))).toBe(1);
    second.child.kill('SIGTERM');
  }, 180_000);
});

/**
 * A device that posts readings from a few concurrent senders (each reading its own timestamp) until
 * told to stop, and remembers which ones were acknowledged. Every fifth reading breaches the alarm,
 * so alerts are raised and resolved, and mailed, all along.
 */
const device = (deviceId: string, apiKey: string) => {
  const acknowledged = new Set<string>();
  let next = 0;
  const reading = () => {
    const i = next++;
    return {
      deviceId,
      timestamp: new Date(Date.UTC(2026, 10, 22, 0, 0, 0) + i * 1000).toISOString(),
      metrics: { t: i % 5 === 0 ? 80 : 20 },
    };
  };
  const post = async (apiUrl: string, body: ReturnType<typeof reading>) => {
    const response = await fetch(`${apiUrl}/readings`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status === 202) acknowledged.add(body.timestamp);
    else await response.body?.cancel();
    return response;
  };
  /** Posts again after `Retry-After` while throttled, as a device does, so a burst is acknowledged whole. */
  const postUntilAnswered = async (apiUrl: string, body: ReturnType<typeof reading>) => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const response = await post(apiUrl, body);
      if (response.status !== 429) return;
      const retryAfterSeconds = Number(response.headers.get('retry-after') ?? '1');
      await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds * 1000));
    }
  };
  return {
    acknowledged,
    /** Posts until `stop` resolves; a post cut off by the kill is simply not acknowledged. */
    async stream(apiUrl: string, stop: Promise<void>, senders = 3) {
      let stopped = false;
      void stop.then(() => {
        stopped = true;
      });
      await Promise.all(
        Array.from({ length: senders }, async () => {
          while (!stopped) await post(apiUrl, reading()).catch(() => undefined);
        }),
      );
    },
    /** Posts `count` readings at once and resolves when every one has been answered (a throttled one sent again). */
    burst: (apiUrl: string, count: number) =>
      Promise.all(Array.from({ length: count }, () => postUntilAnswered(apiUrl, reading()))),
  };
};

/** An alert's mail: the first line of its body, and when SNS accepted its Publish. */
interface Mail {
  readonly body: string;
  readonly acceptedAt: number;
}

/** The alert mails SNS wrote, each `.eml` named after the time it accepted the Publish (a resumed delivery keeps it). */
const mailsSent = (dir: string): Mail[] => {
  const mailDir = join(dir, 'mail');
  if (!existsSync(mailDir)) return [];
  return readdirSync(mailDir)
    .filter((file) => file.endsWith('.eml'))
    .map((file) => ({ file, text: readFileSync(join(mailDir, file), 'utf8') }))
    .filter(({ text }) => !text.includes('Subscription Confirmation'))
    .map(({ file, text }) => {
      const acceptedAt = sentAtOfMailFile(file)?.getTime();
      if (acceptedAt === undefined) throw new Error(`${file} is not named after a time`);
      return { body: text.slice(text.indexOf('\r\n\r\n') + 4).split('\r\n')[0] ?? '', acceptedAt };
    });
};

const mailBodies = (dir: string) => mailsSent(dir).map((mail) => mail.body);

/**
 * The mails sent more than once, but for the one case no design closes: a kill between SNS
 * accepting the notifier's Publish and the notifier recording it done. Its Powertools idempotency
 * record is left INPROGRESS, and the redelivery after the restart, once the lock runs out, publishes
 * again: a second mail, since email subscribes only to standard topics, which deduplicate nothing
 * (a FIFO topic's deduplication serves SQS subscribers only). A mail sent twice passes when its
 * first copy was accepted within a notifier's invocation (its timeout) before a kill and its second
 * after that kill; twice otherwise, or three times, it is a mail sent twice.
 */
const mailedTwice = (mails: readonly Mail[], killedAt: readonly number[]): string[] => {
  const invocationMs = functionLimits('alertNotifier').timeoutSeconds * 1000;
  const copiesOf = new Map<string, number[]>();
  for (const { body, acceptedAt } of mails) copiesOf.set(body, [...(copiesOf.get(body) ?? []), acceptedAt]);
  const metByAKill = (copies: readonly number[]) => {
    const [first, second] = [...copies].sort((a, b) => a - b);
    return (
      first !== undefined &&
      second !== undefined &&
      killedAt.some((kill) => kill - invocationMs <= first && first <= kill && kill < second)
    );
  };
  return [...copiesOf]
    .filter(([, copies]) => copies.length > 2 || (copies.length === 2 && !metByAKill(copies)))
    .map(([body, copies]) => `${body} (${copies.length} times)`);
};

/** The EventBridge deliveries a running process holds pending, as its `/health` backlog says. */
const pendingDeliveries = async (edge: EdgeAccess) => {
  const report = (await (await fetch(`${edge.edgeUrl}/health`)).json()) as {
    checks: { backlog?: { pendingDeliveries?: number } };
  };
  return report.checks.backlog?.pendingDeliveries ?? 0;
};

/**
 * How long an alert may take to be mailed after a crash: a notifier killed mid-invocation holds its
 * idempotency lock for the rest of its timeout, every redelivery is refused until then, and the
 * next one comes after EventBridge's backoff (a minute at most), or is the notifier's own cold start.
 */
const MAIL_AFTER_CRASH_MS = functionLimits('alertNotifier').timeoutSeconds * 1000 + 60_000;

/**
 * What a user would check after any crash: each acknowledged reading stored once, announced,
 * and enriched; and no alert mailed twice (but where a kill met its Publish: {@link mailedTwice}).
 */
const assertNothingLost = async (
  edge: EdgeAccess,
  dir: string,
  deviceId: string,
  acknowledged: Set<string>,
  killedAt: readonly number[],
) => {
  let waiting: string[] = [];
  let unstored: string[] = [];
  const stored = await waitFor(
    async () => {
      const items = await storedReadings(edge, deviceId);
      const byTimestamp = new Map(items.map((item) => [String(item.timestamp), item]));
      waiting = [...acknowledged].filter((timestamp) => {
        const item = byTimestamp.get(timestamp);
        return item?.enrichment === undefined;
      });
      unstored = waiting.filter((timestamp) => !byTimestamp.has(timestamp));
      return waiting.length === 0 ? items : undefined;
    },
    `every one of ${acknowledged.size} acknowledged readings enriched`,
    // The last restart announces and enriches the burst from cold functions: slow on a loaded machine.
    120_000,
  ).catch((error: unknown) => {
    const announced = archivedRecordedEvents(dir, deviceId).flatMap((event) =>
      event.detail.data.readings.map((reading) => String(reading.timestamp)),
    );
    const unannounced = waiting.filter((timestamp) => !announced.includes(timestamp));
    throw new Error(
      `${String(error)}; still waiting for ${JSON.stringify(waiting)}, of which not stored ${JSON.stringify(unstored)}, not announced ${JSON.stringify(unannounced)}`,
      { cause: error },
    );
  });
  const timestamps = stored.map((item) => String(item.timestamp));
  expect(new Set(timestamps).size).toBe(timestamps.length);
  const announced = new Set(
    archivedRecordedEvents(dir, deviceId).flatMap((event) =>
      event.detail.data.readings.map((reading) => String(reading.timestamp)),
    ),
  );
  expect([...acknowledged].filter((timestamp) => !announced.has(timestamp))).toEqual([]);
  // The mails follow the enrichment (alert event, notifier, SNS): wait for as many as the bus
  // accepted alert events, each mailed once, then look for a mail sent twice.
  const alertEvents = archivedAlertEventIds(dir, deviceId).size;
  const mails = await waitFor(
    () => {
      const sent = mailsSent(dir);
      return sent.length >= alertEvents && sent;
    },
    `a mail for each of ${alertEvents} alert events`,
    MAIL_AFTER_CRASH_MS,
  ).catch(async (error: unknown) => {
    throw new Error(`${String(error)}; ${await whereAlertsStand(edge, dir, deviceId)}`, { cause: error });
  });
  expect(mailedTwice(mails, killedAt)).toEqual([]);
  return { stored: stored.length, mails: mails.length };
};

const archivedRecordedEvents = (dir: string, deviceId: string) => {
  const file = join(dir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"deviceId":"${deviceId}"`) && line.includes('"ReadingRecorded"'))
    .map(
      (line) =>
        (JSON.parse(line) as { event: { detail: { data: { readings: { timestamp: string }[] } } } }).event,
    );
};

/**
 * What a missing mail needs to be found: each accepted alert event without a mail (a mail's body
 * names its transition and reading), the dead letters, and what the cloud still holds pending.
 */
const whereAlertsStand = async (edge: EdgeAccess, dir: string, deviceId: string) => {
  const bodies = mailBodies(dir);
  const unmailed = archivedAlertEvents(dir, deviceId)
    .filter(
      (event) =>
        !bodies.some(
          (body) =>
            body.startsWith(`${event['detail-type']} `) &&
            body.includes(` at ${event.detail.data.readingTimestamp}:`),
        ),
    )
    .map(
      (event) =>
        `${event['detail-type']} ${event.detail.data.readingTimestamp} ${event.detail.metadata.eventId}`,
    );
  const dlqDir = join(dir, 'dlq');
  const deadLetters = existsSync(dlqDir)
    ? readdirSync(dlqDir).map((file) => `${file}: ${readFileSync(join(dlqDir, file), 'utf8').slice(0, 2000)}`)
    : [];
  const health = await fetch(`${edge.edgeUrl}/health`)
    .then((response) => response.text())
    .catch((failure: unknown) => String(failure));
  return `not mailed ${JSON.stringify([...new Set(unmailed)])}; ${bodies.length} mails; dead letters ${JSON.stringify(deadLetters)}; health ${health}`;
};

interface ArchivedAlertEvent {
  readonly 'detail-type': string;
  readonly detail: { metadata: { eventId: string }; data: { readingTimestamp?: string } };
}

/** The alert events about a device the telemetry bus accepted (a redelivered one more than once). */
const archivedAlertEvents = (dir: string, deviceId: string): ArchivedAlertEvent[] => {
  const file = join(dir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"deviceId":"${deviceId}"`) && line.includes('"detail-type":"Alert'))
    .map((line) => (JSON.parse(line) as { event: ArchivedAlertEvent }).event);
};

/** The distinct ids of the alert events about a device the telemetry bus accepted. */
const archivedAlertEventIds = (dir: string, deviceId: string) =>
  new Set(archivedAlertEvents(dir, deviceId).map((event) => event.detail.metadata.eventId));

/** A fresh data folder with a device whose alerts are mailed, on a running process. */
const prepare = async (deviceId: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'sensorbus-crash-random-'));
  dataDirs.push(dir);
  const ports = { api: await freePort(), edge: await freePort() };
  const first = await startProcess(ports, dir);
  const { token: admin } = await signToken(
    signingKeyFrom(signingKey),
    { role: 'admin', deviceIds: '*' },
    600,
  );
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const registered = await fetch(`${first.apiUrl}/devices/${deviceId}`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ alarms: [{ metric: 't', above: 50, severity: 'warning' }] }),
  });
  const { apiKey } = (await registered.json()) as { apiKey: string };
  const subscribed = await fetch(`${first.apiUrl}/alert-subscriptions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ protocol: 'email', endpoint: 'ops@example.com', deviceIds: [deviceId] }),
  });
  expect(subscribed.status).toBe(201);
  return { dir, ports, first, sender: device(deviceId, apiKey) };
};

describe('a mail sent twice', () => {
  const kill = Date.parse('2026-11-22T00:01:00.000Z');
  const mail = (body: string, offsetMs: number): Mail => ({ body, acceptedAt: kill + offsetMs });

  it('passes only when a kill met its first copy within a notifier invocation, and the second came after', () => {
    // Prepare
    const acrossTheKill = [mail('AlertRaised a', -2_000), mail('AlertRaised a', 15_000)];
    const beforeTheKill = [mail('AlertRaised b', -3_000), mail('AlertRaised b', -1_000)];
    const longBeforeTheKill = [mail('AlertRaised c', -60_000), mail('AlertRaised c', 15_000)];
    const threeTimes = [...acrossTheKill, mail('AlertRaised a', 20_000)];

    // Act
    const twice = mailedTwice([...acrossTheKill, ...beforeTheKill, ...longBeforeTheKill], [kill]);

    // Assess
    expect(twice).toEqual(['AlertRaised b (2 times)', 'AlertRaised c (2 times)']);
    expect(mailedTwice(threeTimes, [kill])).toEqual(['AlertRaised a (3 times)']);
    expect(mailedTwice(acrossTheKill, [])).toEqual(['AlertRaised a (2 times)']);
  });
});

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`a process killed at random moments (seed ${SEED}; repeat with CRASH_SEED=${SEED})`, () => {
  it('loses no acknowledged reading, nor one acknowledged in a burst just before the kill: each is stored once, announced and enriched, and no alert is mailed twice but where a kill met its Publish', async () => {
    const random = seeded(SEED);
    const deviceId = 'crash-random';
    const { dir, ports, first, sender } = await prepare(deviceId);
    // Act: post continuously, and kill -9 at a seeded random moment (after at least one acknowledgement).
    // One random kill (the seed varies every run); the burst below then kills the restarted process
    // while it resumes this one's journals, which is what a second random round was for, at the
    // price of a process start and its cold starts.
    let kill!: () => void;
    const killed = new Promise<void>((resolve) => {
      kill = resolve;
    });
    const streaming = sender.stream(first.apiUrl, killed);
    await waitFor(() => sender.acknowledged.size > 0, 'an acknowledged reading', 90_000);
    const deadline = Date.now() + 200 + random() * 1500;
    await waitFor(() => Date.now() >= deadline, 'the random moment', 5_000);
    await kill9(first.child);
    const killedAt = [Date.now()];
    kill();
    await streaming;
    // A restarted process cold-starts every function while the stream and deliveries resume: on a
    // loaded machine it answers 429 for a while, which the burst's posts wait out as devices do.
    let running = await startProcess(ports, dir);
    // The attack's case: a burst of acknowledgements, then kill -9 before their deliveries can finish
    const beforeBurst = sender.acknowledged.size;
    await sender.burst(running.apiUrl, 40);
    const burst = sender.acknowledged.size - beforeBurst;
    await kill9(running.child);
    killedAt.push(Date.now());
    running = await startProcess(ports, dir);

    // Assess, on the process started after the last kill, with no replay by hand
    const result = await assertNothingLost(running.edge, dir, deviceId, sender.acknowledged, killedAt).catch(
      (error: unknown) => {
        throw new Error(`seed ${SEED}: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      },
    );
    expect(burst).toBe(40);
    expect(result.stored).toBeGreaterThanOrEqual(sender.acknowledged.size);
    expect(result.mails).toBeGreaterThan(0);
    await kill9(running.child);
  }, 300_000);
});

describe('a process killed at the height of a backlog, while it drains', () => {
  it('resumes the pending deliveries from disk after restart: every acknowledged reading is enriched, with no replay by hand', async () => {
    // Prepare: a running system whose enrichment target fails, so deliveries pile up pending
    const dir = mkdtempSync(join(tmpdir(), 'sensorbus-crash-backlog-'));
    dataDirs.push(dir);
    const ports = { api: await freePort(), edge: await freePort() };
    const first = await startProcess(ports, dir);
    const apiKey = await registerDevice(first.apiUrl, 'backlog-1');
    const enrichmentTarget = {
      service: 'target',
      operation: localArns.stateMachine(stateMachines.enrichReading.name),
      mode: 'error',
    } as const;
    await edgeAdmin(first.edge, '/_sensorbus/faults', { method: 'POST', json: enrichmentTarget });

    // Act: three batches acknowledged, the backlog builds, its drain begins (the target takes one
    // event, then fails again), the process dies during it, a new one starts on the same data
    const acknowledged: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const readings = Array.from({ length: 40 }, (_, i) => ({
        deviceId: 'backlog-1',
        timestamp: new Date(Date.UTC(2026, 10, 21, 9, batch, i)).toISOString(),
        metrics: { t: batch * 40 + i },
      }));
      // A device retries a batch answered 5xx (a cold start on a loaded machine may outlast the function's timeout).
      const send = () =>
        fetch(`${first.apiUrl}/readings`, {
          method: 'POST',
          headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ readings }),
        });
      let response = await send();
      for (let retry = 0; retry < 5 && response.status >= 500; retry++) response = await send();
      expect(response.status).toBe(202);
      const answer = (await response.json()) as { results: { readingId: string }[] };
      acknowledged.push(...answer.results.map((result) => result.readingId));
    }
    const pendingAtKill = await waitFor(
      async () => {
        const pending = await pendingDeliveries(first.edge);
        // Deliveries are per event, and each batch is announced in one ReadingRecorded v2 or more
        // (3 or more events for 120 readings): three pending, so that the drain below, which takes
        // one event, leaves at least two batches pending.
        return pending >= 3 && pending;
      },
      'the backlog to build',
      90_000,
    );
    await edgeAdmin(first.edge, '/_sensorbus/faults', { method: 'DELETE' });
    await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { ...enrichmentTarget, after: 1 },
    });
    const enrichedAtKill = await waitFor(
      async () => {
        const done = (await storedReadings(first.edge, 'backlog-1')).filter(
          (item) => item.enrichment !== undefined,
        );
        return done.length > 0 && done.length;
      },
      'the drain to enrich the readings of one event',
      90_000,
    );
    const pendingAtKillDuringDrain = await pendingDeliveries(first.edge);
    first.child.kill('SIGKILL');
    const second = await startProcess(ports, dir);

    // Assess: without a replay, every acknowledged reading is stored once and enriched, nothing dead-lettered
    const enriched = await waitFor(
      async () => {
        const items = await storedReadings(second.edge, 'backlog-1');
        const done = items.filter((item) => item.enrichment !== undefined);
        return done.length >= acknowledged.length && items;
      },
      'every acknowledged reading enriched',
      120_000,
    );
    second.child.kill('SIGTERM');
    expect(pendingAtKill).toBeGreaterThan(0);
    // Killed during the drain: one event's readings enriched, at least two batches' still pending.
    expect(enrichedAtKill).toBeLessThanOrEqual(40);
    expect(pendingAtKillDuringDrain).toBeGreaterThanOrEqual(2);
    expect(new Set(enriched.map((item) => String(item.readingId)))).toEqual(new Set(acknowledged));
    expect(enriched).toHaveLength(acknowledged.length);
    const deadLetters = join(dir, 'dlq');
    expect(
      existsSync(deadLetters) ? readdirSync(deadLetters).filter((f) => f.includes('enrich')) : [],
    ).toEqual([]);
  }, 240_000);
});

describe('a process killed while the alert notifier publishes', () => {
  it("mails the alert once after restart, once the killed invocation's idempotency lock has run out", async () => {
    // Prepare: a device whose alerts are mailed, and a topic whose Publish never answers
    const deviceId = 'crash-notify';
    const { dir, ports, first, sender } = await prepare(deviceId);
    await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { service: 'sns', operation: 'Publish', mode: 'hang' },
    });

    // Act: a reading breaches the alarm, its AlertRaised reaches the notifier, which takes the
    // event's idempotency lock and hangs in Publish; the process dies there
    await sender.burst(first.apiUrl, 1);
    const inProgress = await waitFor(
      async () => {
        const { Items = [] } = await edgeDynamo(first.edge).send(
          new ScanCommand({ TableName: tables.idempotency.name }),
        );
        return Items.find(
          (item) =>
            item[PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.statusAttr] === IdempotencyRecordStatus.INPROGRESS,
        );
      },
      'the notifier holding the alert event',
      90_000,
    );
    await kill9(first.child);
    const second = await startProcess(ports, dir);

    // Assess: the pending delivery resumes from disk; redeliveries are refused while the lock holds,
    // then one of them mails the alert, once
    const mails = await waitFor(
      () => {
        const bodies = mailBodies(dir);
        return bodies.length > 0 && bodies;
      },
      'the alert mailed after restart',
      MAIL_AFTER_CRASH_MS,
    );
    const pending = await waitFor(
      async () => (await pendingDeliveries(second.edge)) === 0 && 'none',
      'no delivery pending',
      60_000,
    );

    expect(inProgress[PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.inProgressExpiryAttr]).toBeTypeOf('number');
    expect(pending).toBe('none');
    expect(mailBodies(dir)).toEqual(mails);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(
      /^AlertRaised for device crash-notify at 2026-11-22T00:00:00.000Z: t 80 is above 50/,
    );
    await kill9(second.child);
  }, 300_000);
});
