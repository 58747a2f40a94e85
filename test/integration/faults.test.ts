import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { InternalErrorException, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dynamoConnections } from '../../handlers/lib/connections-store.ts';
import { buses, rules, stateMachines, tables } from '../../infra/topology.ts';
import type { FaultSpec } from '../../local-cloud/emulators/shared/faults.ts';
import { localArns, targetArn } from '../../local-cloud/launcher/arns.ts';
import {
  edgeClientConfig,
  edgeDynamo,
  startTestCloud,
  storedReadings,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

/**
 * Fault injection across the whole flow: whatever fails, every acknowledged reading ends stored
 * once, emitted, enriched and shown once (pushed as ReadingEnriched; a redelivered push carries
 * the same eventId, which a dashboard drops), and alerts are neither lost nor doubled.
 */
let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5, sfnRetryIntervalMs: 5 });
});
afterAll(() => t.stop());

interface Watcher {
  socket: WebSocket;
  pushes: { type: string; deviceId: string; eventId: string; data: Record<string, unknown> }[];
}

const watch = async (deviceId: string): Promise<Watcher> => {
  const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${await t.viewerToken([deviceId])}`);
  const watcher: Watcher = { socket, pushes: [] };
  const subscribed = new Promise<void>((resolve, reject) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as Watcher['pushes'][number] & { type: string };
      if (message.type === 'subscribed') resolve();
      else if (message.type === 'error') reject(new Error(JSON.stringify(message)));
      else watcher.pushes.push(message);
    });
    socket.once('error', reject);
  });
  await new Promise<void>((resolve) => socket.once('open', () => resolve()));
  socket.send(JSON.stringify({ action: 'subscribe', deviceIds: [deviceId] }));
  await subscribed;
  return watcher;
};

/**
 * Waits until the readings stream's consumers have taken every record: the announcer's batches
 * that failed while the bus was down are retried until they went through.
 */
const streamDrained = () =>
  waitFor(() => t.cloud.streamConsumers.idle(), 'the readings stream to be announced', 60_000);

/** Waits until nothing is in flight anywhere: stream batches, deliveries, retries, workflows, mail. */
const settle = async () => {
  for (let round = 0; round < 3; round++) {
    await streamDrained();
    await waitFor(
      () => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0,
      'deliveries to settle',
      30_000,
    );
    await t.cloud.stepFunctions.idle();
    await t.cloud.sns.idle();
  }
};

const readingsOf = (deviceId: string, count: number, minuteOffset = 0) =>
  Array.from({ length: count }, (_, i) => ({
    deviceId,
    timestamp: new Date(Date.UTC(2026, 10, 1, 0, minuteOffset + i)).toISOString(),
    metrics: { t: 20 + (i % 3) },
  }));

/** What happened to a device's readings, end to end. */
const account = async (deviceId: string, watcher: Watcher) => {
  const stored = await storedReadings(t.cloud, deviceId);
  const recorded = t.busEvents.filter(
    (e) =>
      e.bus === buses.telemetry.name &&
      e.event['detail-type'] === 'ReadingRecorded' &&
      (e.event.detail.data as { deviceId: string }).deviceId === deviceId,
  );
  /** The ReadingRecorded v2 events and their readings: per reading, the distinct eventIds that carried it. */
  const recordedEventIds = eventIdsPerReading(
    recorded.map((e) => ({
      eventId: (e.event.detail.metadata as { eventId: string }).eventId,
      data: e.event.detail.data as Record<string, unknown>,
    })),
  );
  const enrichedPushes = watcher.pushes.filter((p) => p.type === 'ReadingEnriched');
  /** Pushes per reading (ReadingEnriched v2 carries an upload's readings): a dashboard shows each eventId once. */
  const pushesPerReading = new Map<string, number>();
  for (const push of enrichedPushes)
    for (const reading of carriedReadings(push.data))
      pushesPerReading.set(reading.readingId, (pushesPerReading.get(reading.readingId) ?? 0) + 1);
  return {
    stored: stored.length,
    storedKeys: new Set(stored.map((s) => s.timestamp)).size,
    enriched: stored.filter((s) => s.enrichment !== undefined).length,
    /** Readings announced in some ReadingRecorded. */
    emittedReadings: recordedEventIds.size,
    /** The most distinct eventIds one reading was announced under (1: any repeat is deduped by eventId). */
    emittedIdsPerReading: Math.max(0, ...[...recordedEventIds.values()].map((ids) => ids.size)),
    pushedRecorded: watcher.pushes.filter((p) => p.type === 'ReadingRecorded').length,
    /** Readings pushed, each with how many pushes carried it. */
    pushesPerReading,
    /** The most distinct eventIds one reading was pushed under (1: a dashboard shows it once). */
    pushedIdsPerReading: Math.max(
      0,
      ...[
        ...eventIdsPerReading(enrichedPushes.map((p) => ({ eventId: p.eventId, data: p.data }))).values(),
      ].map((ids) => ids.size),
    ),
  };
};

/** The readings a v2 event's data carries. */
const carriedReadings = (data: Record<string, unknown>) =>
  (data.readings as { readingId: string; timestamp: string }[] | undefined) ?? [];

const eventIdsPerReading = (events: { eventId: string; data: Record<string, unknown> }[]) => {
  const ids = new Map<string, Set<string>>();
  for (const { eventId, data } of events)
    for (const reading of carriedReadings(data))
      ids.set(reading.readingId, (ids.get(reading.readingId) ?? new Set()).add(eventId));
  return ids;
};

const expectWhole = (facts: Awaited<ReturnType<typeof account>>, count: number) => {
  expect(facts).toMatchObject({
    stored: count,
    storedKeys: count,
    enriched: count,
    emittedReadings: count,
    emittedIdsPerReading: 1,
    pushedRecorded: 0,
    pushedIdsPerReading: 1,
  });
  expect(facts.pushesPerReading.size).toBe(count);
};

/** The readings of a device announced so far, counted at once (nothing awaited). */
const announcedNow = (deviceId: string) =>
  t.busEvents
    .filter(
      (e) =>
        e.event['detail-type'] === 'ReadingRecorded' &&
        (e.event.detail.data as { deviceId: string }).deviceId === deviceId,
    )
    .flatMap((e) => carriedReadings(e.event.detail.data as Record<string, unknown>)).length;

/** A fault's `times` for one that fails every call until the test lifts it, counting them. */
const UNTIL_LIFTED = 1_000_000;

/** How many calls the active faults have failed so far. */
const failedCalls = () =>
  t.cloud.faults.list().reduce((n, fault) => n + (fault.times ?? 0) - (fault.remaining ?? 0), 0);

/**
 * Posts the device's readings in two uploads under the faults, then lifts them: at once, or, with
 * `failedFirst`, once the faults (still active) have failed that many calls, counting what was
 * announced by then.
 */
const scenario = async (
  deviceId: string,
  fault: FaultSpec | FaultSpec[],
  { count = 20, failedFirst = 0 } = {},
) => {
  const key = await t.registerDevice(deviceId);
  const watcher = await watch(deviceId);
  for (const f of [fault].flat()) t.cloud.faults.inject(f);
  const readings = readingsOf(deviceId, count);
  const answers = await Promise.all(
    [readings.slice(0, count / 2), readings.slice(count / 2)].map(async (batch) => {
      const response = await t.api('/readings', { method: 'POST', apiKey: key, json: { readings: batch } });
      return { status: response.status, body: (await response.json()) as { results: { status: number }[] } };
    }),
  );
  const announcedWhileFaulty =
    failedFirst > 0
      ? await waitFor(
          () => failedCalls() >= failedFirst && { readings: announcedNow(deviceId) },
          `${failedFirst} calls failed by the faults`,
          60_000,
        )
      : undefined;
  // Faults that fail until lifted would hold the stream's batch for good: lifted once counted.
  if (failedFirst === 0) await settle();
  t.cloud.faults.clear();
  await settle();
  const facts = await account(deviceId, watcher);
  watcher.socket.close();
  return { answers, facts, announcedWhileFaulty };
};

describe('under injected faults', () => {
  it("PutEvents failing outright: readings are acknowledged, and the announcer's retried batch emits each once", async () => {
    // The bus fails until 18 calls failed: an announcer invocation makes at most 9 (3 attempts,
    // each retried up to 3 times by the SDK), so the mapping has retried the batch by then.
    const { answers, facts, announcedWhileFaulty } = await scenario(
      'fault-bus-down',
      { service: 'events', operation: 'PutEvents', mode: 'error', times: UNTIL_LIFTED },
      { failedFirst: 18 },
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    expect(announcedWhileFaulty).toEqual({ readings: 0 });
    expectWhole(facts, 20);
    // The first test of the file pays every function's cold start, slow on a loaded machine.
  }, 120_000);

  it('PutEvents throttled for a while: retries carry every reading through once', async () => {
    const { facts } = await scenario('fault-bus-throttled', {
      service: 'events',
      operation: 'PutEvents',
      mode: 'throttle',
      times: 6,
    });
    expectWhole(facts, 20);
  });

  it('PutEvents refusing entries: the refused ones are retried, nothing doubles', async () => {
    const { facts } = await scenario('fault-entries', {
      service: 'events',
      operation: 'PutEvents',
      mode: 'fail-entries',
      times: 5,
    });
    expectWhole(facts, 20);
  });

  it('targets throwing: EventBridge retries the workflow and the push until they go through', async () => {
    // As many failures as each target's retry policy retries: even all of them on one delivery
    // still leave it a last attempt that goes through.
    const retriesOf = (arn: string) =>
      rules.flatMap((rule) => rule.targets).find((target) => targetArn(target) === arn)?.retryPolicy
        .maximumRetryAttempts ?? 0;
    const workflow = localArns.stateMachine(stateMachines.enrichReading.name);
    const push = localArns.function('push');
    const { facts } = await scenario('fault-targets', [
      { service: 'target', operation: workflow, mode: 'error', times: retriesOf(workflow) },
      { service: 'target', operation: push, mode: 'error', times: retriesOf(push) },
    ]);
    expectWhole(facts, 20);
  });

  it('DynamoDB throttling writes: SDK and workflow retries absorb it', async () => {
    const { answers, facts } = await scenario('fault-dynamo', [
      { service: 'dynamodb', operation: 'PutItem', mode: 'throttle', times: 2 },
      { service: 'dynamodb', operation: 'UpdateItem', mode: 'throttle', times: 6 },
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    expectWhole(facts, 20);
  });

  it('the WebSocket server dropping every connection: nothing pushed twice, the dropped connections forgotten, the gap backfilled once', async () => {
    const deviceId = 'fault-ws-drop';
    const key = await t.registerDevice(deviceId);
    const readings = readingsOf(deviceId, 15);
    const post = async (batch: typeof readings) => {
      const response = await t.api('/readings', { method: 'POST', apiKey: key, json: { readings: batch } });
      expect(response.status).toBe(202);
      await settle();
    };
    const connections = dynamoConnections(edgeDynamo(t.cloud), tables.connections.name);
    const pushDeadLetters = rules
      .flatMap((rule) => rule.targets)
      .find((target) => target.kind === 'function' && target.function === 'push')?.deadLetterQueue;
    /** Pushes arrive in delivery order, which EventBridge does not keep: compared as sorted lists. */
    const timestampsOf = (watcher: Watcher, type: string) =>
      watcher.pushes
        .filter((p) => p.type === type)
        .flatMap((p) => carriedReadings(p.data).map((reading) => reading.timestamp))
        .sort();

    const before = await watch(deviceId);
    await post(readings.slice(0, 5));
    await waitFor(() => timestampsOf(before, 'ReadingEnriched').length === 5, 'the first five pushes');
    const [droppedConnection] = await connections.subscribers(deviceId);

    // The server goes away with every socket; what is posted meanwhile reaches nobody live.
    await t.cloud.websocket.close();
    await post(readings.slice(5, 10));
    await t.cloud.restartWebSocket();
    const after = await watch(deviceId);
    const lastSeen = timestampsOf(before, 'ReadingEnriched').at(-1) ?? ''; // the newest reading seen live
    const history = await t.api(`/devices/${deviceId}/readings?from=${encodeURIComponent(lastSeen)}`, {
      token: await t.viewerToken([deviceId]),
    });
    const backfilled = ((await history.json()) as { items: { timestamp: string }[] }).items
      .map((item) => item.timestamp)
      .filter((timestamp) => timestamp > lastSeen);
    await post(readings.slice(10));
    await waitFor(() => timestampsOf(after, 'ReadingEnriched').length >= 5, 'the last five pushes');
    await settle();
    after.socket.close();

    const timestamps = (from: number, to: number) => readings.slice(from, to).map((r) => r.timestamp);
    expect(timestampsOf(before, 'ReadingEnriched')).toEqual(timestamps(0, 5));
    expect(timestampsOf(after, 'ReadingEnriched')).toEqual(timestamps(10, 15));
    expect(backfilled).toEqual(timestamps(5, 10));
    expect(droppedConnection).toBeDefined();
    expect(await connections.subscribers(deviceId)).not.toContain(droppedConnection);
    expect(pushDeadLetters).toBeDefined();
    expect(t.cloud.events.deadLetters.list(pushDeadLetters ?? '')).toEqual([]);
    const facts = await account(deviceId, {
      socket: after.socket,
      pushes: [...before.pushes, ...after.pushes],
    });
    expect(facts).toMatchObject({
      stored: 15,
      storedKeys: 15,
      enriched: 15,
      emittedReadings: 15,
      emittedIdsPerReading: 1,
      pushedRecorded: 0,
    });
    expect([...facts.pushesPerReading.values()]).toEqual(Array(10).fill(1));
  });

  it('alerts under a flaky bus: raised once, resolved once, one mail each', async () => {
    const deviceId = 'fault-alerts';
    const key = await t.registerDevice(deviceId, {
      alarms: [{ metric: 't', above: 50, severity: 'critical' }],
    });
    await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'email', endpoint: 'fault@example.com', deviceIds: [deviceId] },
    });
    const post = async (minute: number, value: number) => {
      const response = await t.api('/readings', {
        method: 'POST',
        apiKey: key,
        json: {
          deviceId,
          timestamp: new Date(Date.UTC(2026, 10, 2, 0, minute)).toISOString(),
          metrics: { t: value },
        },
      });
      expect(response.status).toBe(202);
      await settle();
    };

    await post(0, 10);
    t.cloud.faults.inject({ service: 'events', operation: 'PutEvents', mode: 'fail-entries', times: 3 });
    t.cloud.faults.inject({
      service: 'target',
      operation: localArns.function('alertNotifier'),
      mode: 'error',
      times: 2,
    });
    await post(1, 60);
    await post(2, 70);
    t.cloud.faults.inject({ service: 'events', operation: 'PutEvents', mode: 'throttle', times: 3 });
    await post(3, 10);
    t.cloud.faults.clear();
    await settle();

    const alertEvents = (type: string) =>
      new Set(
        t.busEvents
          .filter(
            (e) =>
              e.event['detail-type'] === type &&
              (e.event.detail.data as { deviceId: string }).deviceId === deviceId,
          )
          .map((e) => (e.event.detail.metadata as { eventId: string }).eventId),
      );
    expect(alertEvents('AlertRaised').size).toBe(1);
    expect(alertEvents('AlertResolved').size).toBe(1);
    const mails = t.cloud.sns
      .mail()
      .filter((m) => m.to === 'fault@example.com' && m.subject.includes(deviceId));
    expect(mails.map((m) => m.subject.split(' ')[0])).toEqual(['AlertRaised', 'AlertResolved']);
  });
});

describe('faults at the edge', () => {
  it("answers an injected fault in each service's own error shape, so SDK clients raise what they raise on AWS", async () => {
    const config = { ...edgeClientConfig(t.cloud), maxAttempts: 1 };
    const sns = new SNSClient(config);
    const sfn = new SFNClient(config);
    const events = new EventBridgeClient(config);
    const dynamo = new DynamoDBClient(config);
    const faults: FaultSpec[] = [
      { service: 'sns', operation: 'ListTopics', mode: 'error', times: 1 },
      { service: 'sns', operation: 'ListTopics', mode: 'throttle', times: 1 },
      { service: 'states', operation: 'ListExecutions', mode: 'error', times: 1 },
      { service: 'events', operation: 'ListRules', mode: 'throttle', times: 1 },
      { service: 'dynamodb', operation: 'DescribeTable', mode: 'throttle', times: 1 },
    ];
    for (const fault of faults) t.cloud.faults.inject(fault);
    const listExecutions = () =>
      sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: localArns.stateMachine(stateMachines.enrichReading.name),
        }),
      );
    const listRules = () => events.send(new ListRulesCommand({ EventBusName: buses.telemetry.name }));
    const describeTable = () => dynamo.send(new DescribeTableCommand({ TableName: tables.devices.name }));

    const failures = [
      await sns.send(new ListTopicsCommand({})).catch((e: unknown) => e),
      await sns.send(new ListTopicsCommand({})).catch((e: unknown) => e),
      await listExecutions().catch((e: unknown) => e),
      await listRules().catch((e: unknown) => e),
      await describeTable().catch((e: unknown) => e),
    ];
    const recovered = await Promise.all([
      sns.send(new ListTopicsCommand({})),
      listExecutions(),
      listRules(),
      describeTable(),
    ]);

    expect(failures[0]).toBeInstanceOf(InternalErrorException);
    expect(
      failures.map((e) => [
        (e as Error).name,
        (e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode,
      ]),
    ).toEqual([
      ['InternalErrorException', 500],
      ['Throttling', 400],
      ['ServiceUnavailable', 500],
      ['ThrottlingException', 400],
      ['ProvisionedThroughputExceededException', 400],
    ]);
    expect(recovered.map((answer) => answer.$metadata.httpStatusCode)).toEqual([200, 200, 200, 200]);
    for (const client of [sns, sfn, events, dynamo]) client.destroy();
  });
});
