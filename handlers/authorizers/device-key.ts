import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDeviceKeys } from '../lib/device-keys-store.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { headerIn } from '../lib/http.ts';
import { type DeviceKeyDeps, deviceOfKey } from './device-keys.ts';
import { allowAll, UNAUTHORIZED } from './policy.ts';

/**
 * REQUEST authorizer for device calls: the `x-api-key` header must be a key that works now. Its
 * answer is not cached by API Gateway (the route's authorizer TTL is 0, see `infra/api.ts`), so
 * a deleted device's key, or a rotated key past its grace, is refused on the very next request.
 */
export const makeHandler =
  (deps: DeviceKeyDeps) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const apiKey = headerIn(event.headers, 'x-api-key');
    const deviceId = apiKey === undefined ? undefined : await deviceOfKey(apiKey, deps);
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
