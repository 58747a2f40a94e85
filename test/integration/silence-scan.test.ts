import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoAlerts } from '../../handlers/alerts/records.ts';
import { alertEntry } from '../../handlers/enrichment/alert-events.ts';
import { SILENCE_STATE_KEY } from '../../handlers/enrichment/alert-state.ts';
import type { SilenceCandidate } from '../../handlers/enrichment/silence.ts';
import { checkSilence, type SilenceCheckDeps } from '../../handlers/enrichment/silence-check.ts';
import { dynamoSilenceCandidates, type SilenceScanOptions } from '../../handlers/enrichment/silence-store.ts';
import { CONNECTION_LIFETIME_SECONDS } from '../../handlers/lib/connections-store.ts';
import { dynamoDevices } from '../../handlers/lib/devices-store.ts';
import { publishEntries } from '../../handlers/lib/events.ts';
import { buses, tables } from '../../infra/topology.ts';
import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import { edgeClientConfig, edgeDynamo, startTestCloud, type TestCloud } from '../support/local-cloud.ts';

const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();
const INTERVAL = 60;

/** A stored device item as the registry writes it; `lastReadingAt` absent means it never reported. */
const deviceItem = (deviceId: string, extra: Record<string, unknown> = {}) => ({
  deviceId,
  metrics: {},
  alarms: [],
  expectedIntervalSeconds: INTERVAL,
  createdAt: HOUR_AGO,
  updatedAt: HOUR_AGO,
  apiKeyHash: `hash-${deviceId}`,
  alarmStates: {},
  ...extra,
});

const lastReading = (timestamp: string) => ({ timestamp, metrics: { t: 1 }, receivedAt: timestamp });

describe('silence check over a scanned devices table', () => {
  let t: TestCloud;
  let dynamo: DynamoDBDocumentClient;

  /** The check as the handler wires it, with the scan's segments and page size set by the test. */
  const check = (now: Date, scan: SilenceScanOptions) => {
    const eventBridge = new EventBridgeClient(edgeClientConfig(t.cloud));
    const devices = dynamoDevices(dynamo, tables.devices.name);
    const alerts = dynamoAlerts(dynamo, tables.alerts.name);
    const deps: SilenceCheckDeps = {
      scanDevices: dynamoSilenceCandidates(dynamo, tables.devices.name, scan),
      publishAlerts: (alerts, producedAt) =>
        publishEntries(
          eventBridge,
          alerts.map((alert) =>
            alertEntry(alert, buses.telemetry.name, 'silence-scan-test', producedAt.toISOString()),
          ),
        ),
      saveAlertStates: (deviceId, updates) => devices.updateAlertStates(deviceId, updates),
      claimResolution: (alertId) => alerts.claimForDevice(alertId),
      warn: () => {},
    };
    return checkSilence(now, deps);
  };

  const put = async (items: Record<string, unknown>[]) => {
    for (let i = 0; i < items.length; i += 25)
      await dynamo.send(
        new BatchWriteCommand({
          RequestItems: {
            [tables.devices.name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
  };

  const silenceOf = async (deviceId: string) => {
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: tables.devices.name, Key: { deviceId }, ConsistentRead: true }),
    );
    return (Item?.alarmStates as Record<string, { state: string }> | undefined)?.[SILENCE_STATE_KEY];
  };

  const raisedFor = (prefix: string) =>
    t.busEvents.filter(
      ({ bus, event }) =>
        bus === buses.telemetry.name &&
        event['detail-type'] === 'AlertRaised' &&
        String((event.detail.data as { deviceId?: string }).deviceId).startsWith(prefix),
    );

  beforeAll(async () => {
    t = await startTestCloud();
    dynamo = edgeDynamo(t.cloud);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('reads each live device with an interval exactly once across segments and pages, and no other', async () => {
    const now = new Date().toISOString();
    await put([
      ...Array.from({ length: 23 }, (_, i) => deviceItem(`scan-${i}`, { lastReading: lastReading(now) })),
      deviceItem('scan-deleted', { deletedAt: now }),
      { ...deviceItem('scan-irregular'), expectedIntervalSeconds: undefined },
    ]);
    const pages: (readonly SilenceCandidate[])[] = [];

    await dynamoSilenceCandidates(dynamo, tables.devices.name, { segments: 4, pageSize: 3 })(async (page) => {
      pages.push(page);
    });

    const read = pages.flat().filter((d) => d.deviceId.startsWith('scan-'));
    expect(read.map((d) => d.deviceId).sort()).toEqual(
      Array.from({ length: 23 }, (_, i) => `scan-${i}`).sort(),
    );
    expect(pages.length).toBeGreaterThan(4);
    expect(pages.every((page) => page.length <= 3)).toBe(true);
    expect(read[0]).toEqual({
      deviceId: expect.stringMatching(/^scan-/),
      expectedIntervalSeconds: INTERVAL,
      createdAt: HOUR_AGO,
      lastReading: { timestamp: now },
      bufferSeconds: UNWATCHED_BUFFER_SECONDS,
    });
  });

  it('raises nothing while every device reports', async () => {
    expect(await check(new Date(), { segments: 4, pageSize: 3 })).toEqual({ raised: 0, resolved: 0 });
    expect(raisedFor('scan-')).toEqual([]);
  });

  it('raises every due device once across pages, never again on the next run, and resolves those that report', async () => {
    await put(Array.from({ length: 30 }, (_, i) => deviceItem(`quiet-${i}`)));

    const first = await check(new Date(), { segments: 3, pageSize: 4 });
    const second = await check(new Date(), { segments: 5, pageSize: 7 });
    const back = new Date().toISOString();
    for (let i = 0; i < 10; i++)
      await dynamo.send(
        new UpdateCommand({
          TableName: tables.devices.name,
          Key: { deviceId: `quiet-${i}` },
          UpdateExpression: 'SET lastReading = :r',
          ExpressionAttributeValues: { ':r': lastReading(back) },
        }),
      );
    const third = await check(new Date(), { segments: 2, pageSize: 5 });

    expect(first).toEqual({ raised: 30, resolved: 0 });
    expect(second).toEqual({ raised: 0, resolved: 0 });
    expect(third).toEqual({ raised: 0, resolved: 10 });
    const raised = raisedFor('quiet-').map(
      ({ event }) => (event.detail.data as { deviceId: string }).deviceId,
    );
    expect(raised.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `quiet-${i}`).sort());
    expect(await silenceOf('quiet-0')).toMatchObject({ state: 'OK' });
    expect(await silenceOf('quiet-29')).toMatchObject({ state: 'ALARM' });
  });

  it('leaves a device that reported alone while it may be buffering, and raises it once its upload is overdue', async () => {
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
    await put([
      // Last reading 40 min ago: told it may buffer an hour, its next upload is not yet due.
      deviceItem('buffer-waiting', { lastReading: lastReading(ago(40 * 60)) }),
      // Past the hour and three intervals: it is silent, buffering or not.
      deviceItem('buffer-overdue', {
        lastReading: lastReading(ago(UNWATCHED_BUFFER_SECONDS + 3 * INTERVAL + 60)),
      }),
    ]);

    const report = await check(new Date(), { segments: 2, pageSize: 1 });

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(raisedFor('buffer-').map(({ event }) => event.detail.data)).toEqual([
      expect.objectContaining({ deviceId: 'buffer-overdue', kind: 'silence' }),
    ]);
    expect(await silenceOf('buffer-waiting')).toBeUndefined();
  });

  it('finds a device that stopped while watched three intervals after its last reading, not an hour later', async () => {
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
    const lifetimeAhead = (markedSecondsAgo: number) =>
      new Date(Date.now() + (CONNECTION_LIFETIME_SECONDS - markedSecondsAgo) * 1000).toISOString();
    await put([
      // Watched since 20 min ago; it streamed its last reading 10 min ago and nothing since.
      deviceItem('streamed-quiet', {
        lastReading: lastReading(ago(10 * 60)),
        watchedUntil: lifetimeAhead(20 * 60),
      }),
      // Watched only since 5 min ago: its last upload, 10 min ago, was told it may buffer an hour.
      deviceItem('streamed-later', {
        lastReading: lastReading(ago(10 * 60)),
        watchedUntil: lifetimeAhead(5 * 60),
      }),
    ]);

    const report = await check(new Date(), { segments: 2, pageSize: 1 });

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(raisedFor('streamed-').map(({ event }) => event.detail.data)).toEqual([
      expect.objectContaining({ deviceId: 'streamed-quiet', kind: 'silence' }),
    ]);
    expect(await silenceOf('streamed-later')).toBeUndefined();
  });

  it('runs as the scheduled function, finding a device that fell silent among reporting ones', async () => {
    await put([deviceItem('scheduled-quiet')]);

    await t.cloud.runSchedule('silenceCheck');

    expect(raisedFor('scheduled-').map(({ event }) => event.detail.data)).toEqual([
      expect.objectContaining({ deviceId: 'scheduled-quiet', kind: 'silence' }),
    ]);
    expect(raisedFor('scan-')).toEqual([]);
  });
});
