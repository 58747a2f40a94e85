import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { hashApiKey } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { type DeviceKeyItem, dynamoDeviceKeys, keyIsValid } from '../lib/device-keys-store.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { headerIn } from '../lib/http.ts';
import { allowAll, UNAUTHORIZED } from './policy.ts';

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

/**
 * REQUEST authorizer for device calls: the `x-api-key` header must be a key that works now. Its
 * answer is not cached by API Gateway (the route's authorizer TTL is 0, see `infra/api.ts`), so
 * a deleted device's key, or a rotated key past its grace, is refused on the very next request.
 */
export const makeHandler =
  (deps: DeviceKeyDeps) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const apiKey = headerIn(event.headers, 'x-api-key');
    if (!apiKey || apiKey.length > 256) throw new Error(UNAUTHORIZED);
    const hash = hashApiKey(apiKey);
    const key = await deps.keyByHash(hash);
    const deviceId = key
      ? keyIsValid(key, deps.now())
        ? key.deviceId
        : undefined
      : await deps.deviceWithCurrentKey(hash);
    if (!deviceId) throw new Error(UNAUTHORIZED);
    return allowAll(`device/${deviceId}`, event.methodArn, { deviceId });
  };

const keys = dynamoDeviceKeys(dynamo, requireEnv('DEVICE_KEYS_TABLE'));
const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  keyByHash: (hash) => keys.get(hash),
  deviceWithCurrentKey: async (hash) => {
    const deviceId = await devices.findByKeyHash(hash);
    const device = deviceId ? await devices.getConsistent(deviceId) : undefined;
    return device?.apiKeyHash === hash ? device.deviceId : undefined;
  },
  now: () => new Date(),
});
