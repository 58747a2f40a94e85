import { describe, expect, it } from 'vitest';
import { type DeviceKeyDeps, deviceOfKey } from '../../../../handlers/authorizers/device-keys.ts';
import { hashApiKey } from '../../../../handlers/lib/auth.ts';
import type { DeviceKeyItem } from '../../../../handlers/lib/device-keys-store.ts';

const NOW = new Date('2026-11-23T10:00:00.000Z');

/** The key records and the devices' current keys, faked in memory; `lookups` counts the fallback's reads. */
const fakes = (records: DeviceKeyItem[], currentKeys: Record<string, string> = {}) => {
  const lookups: string[] = [];
  const deps: DeviceKeyDeps = {
    keyByHash: async (hash) => records.find((record) => record.apiKeyHash === hash),
    deviceWithCurrentKey: async (hash) => {
      lookups.push(hash);
      return Object.entries(currentKeys).find(([, key]) => hashApiKey(key) === hash)?.[0];
    },
    now: () => NOW,
  };
  return { deps, lookups };
};

describe('deviceOfKey', () => {
  it('lets a key in by its record, a retired one only until its grace ends', async () => {
    const { deps } = fakes([
      { apiKeyHash: hashApiKey('sbk_live'), deviceId: 'boiler-1' },
      { apiKeyHash: hashApiKey('sbk_grace'), deviceId: 'boiler-1', validUntil: '2026-11-23T10:05:00.000Z' },
      { apiKeyHash: hashApiKey('sbk_retired'), deviceId: 'boiler-1', validUntil: '2026-11-23T10:00:00.000Z' },
    ]);

    const answers = await Promise.all(
      ['sbk_live', 'sbk_grace', 'sbk_retired'].map((key) => deviceOfKey(key, deps)),
    );

    expect(answers).toEqual(['boiler-1', 'boiler-1', undefined]);
  });

  it('finds a key issued before keys had records by its device, and never a retired one that way', async () => {
    const { deps, lookups } = fakes(
      [
        {
          apiKeyHash: hashApiKey('sbk_retired'),
          deviceId: 'boiler-1',
          validUntil: '2026-11-23T09:00:00.000Z',
        },
      ],
      { 'boiler-1': 'sbk_retired', 'boiler-2': 'sbk_old' },
    );

    const old = await deviceOfKey('sbk_old', deps);
    const retired = await deviceOfKey('sbk_retired', deps);

    expect(old).toBe('boiler-2');
    expect(retired).toBeUndefined();
    expect(lookups).toEqual([hashApiKey('sbk_old')]);
  });

  it('refuses an empty or oversized key without reading anything', async () => {
    const { deps, lookups } = fakes([], { 'boiler-1': 'x'.repeat(257) });

    const answers = [await deviceOfKey('', deps), await deviceOfKey('x'.repeat(257), deps)];

    expect(answers).toEqual([undefined, undefined]);
    expect(lookups).toEqual([]);
  });
});
