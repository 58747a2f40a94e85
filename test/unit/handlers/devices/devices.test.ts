import { describe, expect, it } from 'vitest';
import type { DeleteDeviceDeps } from '../../../../handlers/devices/devices.ts';
import {
  deleteDevice,
  getDevice,
  listDevices,
  putDevice,
  rotateKey,
} from '../../../../handlers/devices/devices.ts';
import type { Principal } from '../../../../handlers/lib/auth.ts';
import type { DeviceItem } from '../../../../handlers/lib/devices-store.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../../handlers/lib/errors.ts';
import type { EventEntry } from '../../../../handlers/lib/events.ts';
import type { AlertRecord } from '../../../../schemas/alert-record.ts';
import { thresholdAlert } from '../alerts/alert-records.ts';

const admin: Principal = { role: 'admin', deviceIds: '*', tokenId: 'admin-1' };
const viewerOfBoiler: Principal = { role: 'viewer', deviceIds: ['boiler-1'], tokenId: 'v-1' };

/**
 * The devices use cases' ports, faked in memory with the stores' conditional semantics: a create
 * fails when the id is taken, a key is replaced only while it is still the current one, a deleted
 * device stays as a tombstone that reads as no device. `log` records the writes in order.
 */
const fakes = (start = new Date('2026-11-23T10:00:00.000Z')) => {
  const devices = new Map<string, DeviceItem>();
  const keys = new Map<string, { deviceId: string; validUntil?: string }>();
  const log: string[] = [];
  const published: EventEntry[] = [];
  const resolved: string[] = [];
  const active: AlertRecord[] = [];
  let clock = start;
  let issued = 0;
  /** When set, the next replaceKey finds another rotation got there first. */
  let raceNextRotation = false;
  const live = (item: DeviceItem | undefined) => (item?.deletedAt === undefined ? item : undefined);
  /** A stored item the use case already read, as the table's conditional update requires it to be. */
  const existing = (deviceId: string): DeviceItem => {
    const item = devices.get(deviceId);
    if (!item) throw new Error(`The fake has no device ${deviceId}`);
    return item;
  };
  const deps: DeleteDeviceDeps = {
    newApiKey: () => `sbk_${++issued}`,
    hashApiKey: (apiKey) => `hash(${apiKey})`,
    now: () => clock,
    keys: {
      add: async (apiKeyHash, deviceId) => {
        log.push(`key add ${apiKeyHash}`);
        keys.set(apiKeyHash, { deviceId });
      },
      retire: async (apiKeyHash, deviceId, validUntil) => {
        log.push(`key retire ${apiKeyHash}`);
        keys.set(apiKeyHash, { deviceId, validUntil: validUntil.toISOString() });
      },
    },
    devices: {
      get: async (deviceId) => live(devices.get(deviceId)),
      getStored: async (deviceId) => devices.get(deviceId),
      getMany: async (ids) => ids.flatMap((id) => live(devices.get(id)) ?? []),
      list: async () => [...devices.values()].filter((item) => item.deletedAt === undefined),
      create: async (item) => {
        log.push(`device create ${item.deviceId}`);
        if (devices.has(item.deviceId)) return false;
        devices.set(item.deviceId, item);
        return true;
      },
      update: async (deviceId, changes, updatedAt) => {
        const item = { ...existing(deviceId), ...changes, updatedAt };
        devices.set(deviceId, item);
        return item;
      },
      replaceKey: async (deviceId, current, next, updatedAt) => {
        log.push(`device key ${next}`);
        const item = live(devices.get(deviceId));
        if (raceNextRotation || item?.apiKeyHash !== current) {
          raceNextRotation = false;
          return false;
        }
        devices.set(deviceId, { ...item, apiKeyHash: next, previousApiKeyHash: current, updatedAt });
        return true;
      },
      markDeleted: async (deviceId, deletedAt, deletedBy) => {
        log.push(`device delete ${deviceId}`);
        const item = existing(deviceId);
        const tombstone = {
          ...item,
          deletedAt: item.deletedAt ?? deletedAt,
          deletedBy: item.deletedBy ?? deletedBy,
        };
        devices.set(deviceId, tombstone);
        return tombstone;
      },
    },
    endSubscriptionsTo: async (deviceId) => {
      log.push(`subscriptions end ${deviceId}`);
    },
    activeAlertsOf: async (deviceId) => active.filter((alert) => alert.deviceId === deviceId),
    lifecycle: {
      busName: 'telemetry',
      now: () => clock,
      alerts: {
        get: async () => undefined,
        acknowledge: async () => undefined,
        snooze: async () => undefined,
        resolveByHand: async (alertId, at, by) => {
          resolved.push(`${alertId} by ${by}`);
          const alert = active.find((a) => a.alertId === alertId);
          return alert && { ...alert, state: 'resolved', resolvedAt: at, resolvedBy: by };
        },
      },
      releaseAlertState: async () => true,
      publish: async (entries) => void published.push(...entries),
    },
  };
  return {
    deps,
    devices,
    keys,
    log,
    published,
    resolved,
    active,
    advance: (ms: number) => {
      clock = new Date(clock.getTime() + ms);
    },
    raceNextRotation: () => {
      raceNextRotation = true;
    },
  };
};

describe('putDevice', () => {
  it('registers a device with a key shown once: only its hash is stored, and recorded before the device', async () => {
    const f = fakes();

    const outcome = await putDevice('boiler-1', { name: 'Boiler', metrics: { t: { unit: '°C' } } }, f.deps);

    expect(outcome).toMatchObject({ created: true, apiKey: 'sbk_1', device: { deviceId: 'boiler-1' } });
    expect(JSON.stringify(outcome.device)).not.toContain('hash(');
    expect(f.devices.get('boiler-1')?.apiKeyHash).toBe('hash(sbk_1)');
    expect(f.log).toEqual(['key add hash(sbk_1)', 'device create boiler-1']);
  });

  it('updates a registered device and keeps its key', async () => {
    const f = fakes();
    await putDevice('boiler-1', { name: 'Boiler' }, f.deps);

    const outcome = await putDevice('boiler-1', { name: 'Boiler 2' }, f.deps);

    expect(outcome).toEqual({ created: false, device: expect.objectContaining({ name: 'Boiler 2' }) });
    expect(f.devices.get('boiler-1')?.apiKeyHash).toBe('hash(sbk_1)');
  });
});

describe('reading devices', () => {
  it('lists only what a token may see, and refuses a device it may not', async () => {
    const f = fakes();
    await putDevice('boiler-1', {}, f.deps);
    await putDevice('boiler-2', {}, f.deps);

    const listed = await listDevices(viewerOfBoiler, f.deps);
    const refused = await getDevice(viewerOfBoiler, 'boiler-2', f.deps).catch((e: unknown) => e);
    const missing = await getDevice(admin, 'boiler-3', f.deps).catch((e: unknown) => e);

    expect(listed.map((device) => device.deviceId)).toEqual(['boiler-1']);
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});

describe('rotateKey', () => {
  it('issues a new key and lets the old one work until its grace ends', async () => {
    const f = fakes();
    await putDevice('boiler-1', {}, f.deps);

    const { apiKey } = await rotateKey('boiler-1', { graceSeconds: 600 }, f.deps);

    expect(apiKey).toBe('sbk_2');
    expect(f.keys.get('hash(sbk_1)')).toEqual({
      deviceId: 'boiler-1',
      validUntil: '2026-11-23T10:10:00.000Z',
    });
    expect(f.keys.get('hash(sbk_2)')).toEqual({ deviceId: 'boiler-1' });
    expect(f.devices.get('boiler-1')).toMatchObject({
      apiKeyHash: 'hash(sbk_2)',
      previousApiKeyHash: 'hash(sbk_1)',
    });
  });

  it('retires the key still in an earlier grace at once, and a new key another rotation beat', async () => {
    const f = fakes();
    await putDevice('boiler-1', {}, f.deps);
    await rotateKey('boiler-1', { graceSeconds: 600 }, f.deps);
    f.advance(1000);
    f.raceNextRotation();

    const raced = await rotateKey('boiler-1', { graceSeconds: 600 }, f.deps).catch((e: unknown) => e);

    expect(raced).toBeInstanceOf(ConflictError);
    expect(f.keys.get('hash(sbk_1)')?.validUntil).toBe('2026-11-23T10:00:01.000Z');
    expect(f.keys.get('hash(sbk_3)')?.validUntil).toBe('2026-11-23T10:00:01.000Z');
  });
});

describe('deleteDevice', () => {
  it('retires its keys before anything else changes, ends its subscriptions and resolves its active alerts', async () => {
    const f = fakes();
    await putDevice('boiler-1', {}, f.deps);
    await rotateKey('boiler-1', { graceSeconds: 600 }, f.deps);
    f.active.push(thresholdAlert({ alertId: 'alert-1', deviceId: 'boiler-1' }));
    f.log.length = 0;

    await deleteDevice(admin, 'boiler-1', f.deps);

    expect(f.log).toEqual([
      'key retire hash(sbk_2)',
      'key retire hash(sbk_1)',
      'device delete boiler-1',
      'subscriptions end boiler-1',
    ]);
    expect(await f.deps.devices.get('boiler-1')).toBeUndefined();
    expect(f.resolved).toEqual(['alert-1 by admin/admin-1']);
    expect(f.published.map((entry) => entry.DetailType)).toEqual(['AlertResolved']);
  });
});
