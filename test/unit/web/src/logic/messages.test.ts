import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import {
  applyAlertToAlarmStates,
  mergeLoadedAlerts,
  parseAlert,
  parseAlertList,
  raiseAlert,
  resolveAlert,
} from '../../../../../web/src/logic/alerts.ts';
import {
  parseConfig,
  parseDevices,
  parseEnriched,
  parseReadingsPage,
  parseServerMessage,
  validItems,
} from '../../../../../web/src/logic/messages.ts';
import { resolveToken } from '../../../../../web/src/logic/token.ts';

const alertData = {
  alertId: 'a1',
  summary: 'temperature 31.2 °C is above 30',
  deviceId: 'gh-1',
  severity: 'critical',
  time: '2026-11-23T10:00:00.000Z',
  kind: 'threshold',
  metric: 'temperature',
  value: 31.2,
  above: 30,
  readingTimestamp: '2026-11-23T10:00:00.000Z',
};

describe('parseServerMessage', () => {
  it('reads subscription answers, errors and pushes', () => {
    expect(parseServerMessage('{"type":"subscribed","deviceIds":["a"]}')).toEqual({
      type: 'subscribed',
      deviceIds: ['a'],
    });
    expect(
      parseServerMessage('{"type":"error","code":"Forbidden","message":"no","deviceIds":["b"]}'),
    ).toEqual({ type: 'error', code: 'Forbidden', message: 'no', deviceIds: ['b'] });
    expect(
      parseServerMessage(
        JSON.stringify({
          type: 'AlertRaised',
          deviceId: 'gh-1',
          eventId: '0b5e6a51-6f2e-4d7a-9b36-2f0c7c1d9e11',
          time: '2026-11-23T10:00:00.000Z',
          data: alertData,
        }),
      ),
    ).toMatchObject({ type: 'AlertRaised', deviceId: 'gh-1', data: { alertId: 'a1' } });
  });

  it('drops what is not a message of the contract', () => {
    expect(parseServerMessage('not json')).toBeUndefined();
    expect(parseServerMessage('{"type":"Nope"}')).toBeUndefined();
    expect(parseServerMessage('{"type":"ReadingRecorded","deviceId":"a"}')).toBeUndefined();
  });
});

describe('validItems', () => {
  it('keeps the items that match, in order, and warns once per kind of list about the others', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const item = z.object({ n: z.number() });

    const first = validItems([{ n: 1 }, { n: 'two' }, { n: 3, extra: true }], item, 'numbered thing');
    const again = validItems([{ n: 'four' }, { n: 5 }], item, 'numbered thing');

    expect([first, again]).toEqual([[{ n: 1 }, { n: 3 }], [{ n: 5 }]]);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});

describe('REST bodies', () => {
  it('reads a readings page, skipping malformed items', () => {
    const page = parseReadingsPage({
      items: [
        {
          deviceId: 'a',
          timestamp: '2026-11-23T10:00:00Z',
          metrics: { t: 1 },
          receivedAt: '2026-11-23T10:00:01Z',
        },
        { deviceId: 'a', metrics: { t: 1 } },
        {
          deviceId: 'a',
          timestamp: '2026-11-23T10:00:05Z',
          metrics: { t: Number.MAX_VALUE },
          receivedAt: '2026-11-23T10:00:06Z',
        },
        {
          deviceId: 'a',
          timestamp: '2026-11-23T10:00:10Z',
          metrics: { t: 2 },
          receivedAt: '2026-11-23T10:00:11Z',
          quality: 'added by a later API',
        },
      ],
      nextCursor: 'abc',
    });

    expect(page?.items).toEqual([
      {
        deviceId: 'a',
        timestamp: '2026-11-23T10:00:00Z',
        metrics: { t: 1 },
        receivedAt: '2026-11-23T10:00:01Z',
      },
      {
        deviceId: 'a',
        timestamp: '2026-11-23T10:00:10Z',
        metrics: { t: 2 },
        receivedAt: '2026-11-23T10:00:11Z',
      },
    ]);
    expect(page?.nextCursor).toBe('abc');
    expect(parseReadingsPage({ items: {}, nextCursor: null })).toBeUndefined();
  });

  it('reads a history item’s enrichment per metric, and keeps the reading when its enrichment is unreadable', () => {
    const reading = {
      deviceId: 'a',
      timestamp: '2026-11-23T10:00:00.000Z',
      metrics: { t: 9 },
      receivedAt: '2026-11-23T10:00:01.000Z',
    };
    const t = {
      value: 9,
      delta: 1,
      ratePerMinute: 2,
      mean: 5,
      stddev: 1,
      zScore: 4,
      anomaly: true,
      samples: 12,
    };
    const page = parseReadingsPage({
      items: [
        {
          ...reading,
          enrichment: {
            readingId: 'r1',
            deviceId: 'a',
            timestamp: reading.timestamp,
            gapSeconds: null,
            metrics: { t },
          },
        },
        {
          ...reading,
          timestamp: '2026-11-23T10:01:00.000Z',
          enrichment: { metrics: { t: { anomaly: 'yes' } } },
        },
      ],
      nextCursor: null,
    });

    expect(page?.items.map((item) => item.enrichment)).toEqual([{ t }, undefined]);
  });

  it('reads devices with their alarm states, dropping a malformed one and ignoring unknown fields', () => {
    const devices =
      parseDevices({
        items: [
          { deviceId: 'broken', metrics: {}, alarms: [], alarmStates: [] },
          {
            deviceId: 'gh-1',
            name: 'Greenhouse',
            metrics: { temperature: { unit: '°C' } },
            alarms: [{ metric: 'temperature', above: 30, severity: 'warning' }],
            expectedIntervalSeconds: 5,
            createdAt: '2026-11-23T10:00:00Z',
            updatedAt: '2026-11-23T10:00:00Z',
            alarmStates: [
              { metric: 'temperature', above: 30, severity: 'warning', state: 'ALARM', note: 'later' },
            ],
            firmware: '2.1',
          },
        ],
      }) ?? [];

    expect(devices).toHaveLength(1);
    expect(devices[0]).not.toHaveProperty('firmware');
    expect(devices[0]).toMatchObject({
      deviceId: 'gh-1',
      expectedIntervalSeconds: 5,
      metrics: { temperature: { unit: '°C' } },
      alarmStates: [{ metric: 'temperature', state: 'ALARM' }],
    });
  });

  it('reads every reading of an enrichment push (v2), dropping the malformed ones', () => {
    const enrichment = (value: number) => ({
      value,
      delta: 1,
      ratePerMinute: 2,
      mean: 5,
      stddev: 1,
      zScore: 4,
      anomaly: true,
      samples: 12,
    });
    const readings = parseEnriched({
      deviceId: 'a',
      uploadId: 'u',
      watched: true,
      readings: [
        {
          readingId: 'r1',
          timestamp: '2026-11-23T10:00:00Z',
          gapSeconds: null,
          metrics: { t: enrichment(9) },
        },
        { readingId: 'r2', timestamp: 'x', metrics: {} },
        {
          readingId: 'r3',
          timestamp: '2026-11-23T10:01:00Z',
          gapSeconds: 60,
          metrics: { t: enrichment(10) },
        },
      ],
    });

    expect(readings.map((r) => [r.deviceId, r.timestamp, r.metrics.t?.value])).toEqual([
      ['a', '2026-11-23T10:00:00Z', 9],
      ['a', '2026-11-23T10:01:00Z', 10],
    ]);
    expect(readings[0]?.metrics.t).toMatchObject({ anomaly: true, zScore: 4, mean: 5 });
    expect(parseEnriched({ deviceId: 'a', timestamp: 'x', metrics: {} })).toEqual([]);
  });

  it('reads config.json without trailing slashes', () => {
    expect(parseConfig({ apiUrl: 'http://localhost:3000/', wsUrl: 'ws://localhost:3001' })).toEqual({
      apiUrl: 'http://localhost:3000',
      wsUrl: 'ws://localhost:3001',
    });
    expect(parseConfig({ apiUrl: 'x' })).toBeUndefined();
  });
});

describe('alerts', () => {
  const now = Date.parse('2026-11-23T10:05:00Z');
  const raised = parseAlert(alertData, now);
  if (!raised) throw new Error('fixture must parse');

  it('lists alerts newest first, once each however often pushed', () => {
    const older = { ...raised, alertId: 'a0', raisedAt: raised.raisedAt - 60_000 };
    const list = raiseAlert(raiseAlert(raiseAlert([], older), raised), raised);

    expect(list.map((a) => a.alertId)).toEqual(['a1', 'a0']);
  });

  it('resolves a raised alert, and records one resolved that was never seen raised', () => {
    const resolvedAt = Date.parse('2026-11-23T10:02:00Z');

    expect(resolveAlert(raiseAlert([], raised), raised, resolvedAt)).toEqual([{ ...raised, resolvedAt }]);
    expect(resolveAlert([], raised, resolvedAt)).toEqual([{ ...raised, resolvedAt }]);
  });

  it('adds alerts loaded over REST under those pushes already brought', () => {
    const pushed = resolveAlert(raiseAlert([], raised), raised, now);
    const record = {
      ...alertData,
      state: 'active',
      raisedAt: alertData.time,
      updatedAt: alertData.time,
      timeline: [],
    };
    const loaded = parseAlertList({ items: [record, { ...record, alertId: 'a2' }, { alertId: 'a3' }] }, now);

    expect(loaded.map((a) => a.alertId)).toEqual(['a1', 'a2']);
    expect(mergeLoadedAlerts(pushed, loaded).map((a) => [a.alertId, a.resolvedAt])).toEqual([
      ['a1', now],
      ['a2', undefined],
    ]);
  });

  it('switches the matching alarm state of the device', () => {
    const states = [
      { metric: 'temperature', above: 30, severity: 'critical' as const, state: 'OK' as const },
      { metric: 'humidity', below: 35, severity: 'warning' as const, state: 'OK' as const },
    ];

    const after = applyAlertToAlarmStates(states, raised, true, now);

    expect(after.map((s) => s.state)).toEqual(['ALARM', 'OK']);
    expect(applyAlertToAlarmStates(after, raised, false, now).map((s) => s.state)).toEqual(['OK', 'OK']);
  });
});

describe('resolveToken', () => {
  it('takes the token from the address and gives the address back without it', () => {
    expect(resolveToken('http://localhost:8080/?token=abc&x=1#device=a', 'old')).toEqual({
      token: 'abc',
      cleanUrl: '/?x=1#device=a',
    });
  });

  it('falls back to the token kept for the tab', () => {
    expect(resolveToken('http://localhost:8080/', 'kept')).toEqual({ token: 'kept', cleanUrl: undefined });
    expect(resolveToken('http://localhost:8080/', null)).toEqual({ token: undefined, cleanUrl: undefined });
  });
});
