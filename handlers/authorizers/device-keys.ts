import { hashApiKey } from '../lib/auth.ts';
import { type DeviceKeyItem, keyIsValid } from '../lib/device-keys-store.ts';

/** Ports of the device-key check; the ingest handler (`handlers/ingest/handler.ts`) wires their adapters. */
export interface DeviceKeyDeps {
  /** The key's record, read strongly consistent: a key retired a moment ago is already seen retired. */
  keyByHash(hash: string): Promise<DeviceKeyItem | undefined>;
  /**
   * For keys issued before keys had records of their own: the live device whose current key has
   * this hash (found by index, then confirmed on the device read strongly consistent).
   */
  deviceWithCurrentKey(hash: string): Promise<string | undefined>;
  now(): Date;
}

/** The longest `x-api-key` looked up; a longer one is no key of ours (ours are far shorter). */
const MAX_API_KEY_LENGTH = 256;

/**
 * The device an API key lets in now, or undefined: a key with a record of its own until its
 * `validUntil` (a rotated key's grace, a deleted device's key at once), else a key issued before
 * keys had records, while it is still its device's current key.
 */
export const deviceOfKey = async (apiKey: string, deps: DeviceKeyDeps): Promise<string | undefined> => {
  if (apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH) return undefined;
  const hash = hashApiKey(apiKey);
  const key = await deps.keyByHash(hash);
  if (key) return keyIsValid(key, deps.now()) ? key.deviceId : undefined;
  return deps.deviceWithCurrentKey(hash);
};
