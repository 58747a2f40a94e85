import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { hashApiKey } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { headerIn } from '../lib/http.ts';
import { allowAll, UNAUTHORIZED } from './policy.ts';

export interface DeviceKeyDeps {
  findByKeyHash(hash: string): Promise<string | undefined>;
}

/** REQUEST authorizer for device calls: the `x-api-key` header must be a registered device's key. */
export const makeHandler =
  (deps: DeviceKeyDeps) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const apiKey = headerIn(event.headers, 'x-api-key');
    if (!apiKey || apiKey.length > 256) throw new Error(UNAUTHORIZED);
    const deviceId = await deps.findByKeyHash(hashApiKey(apiKey));
    if (!deviceId) throw new Error(UNAUTHORIZED);
    return allowAll(`device/${deviceId}`, event.methodArn, { deviceId });
  };

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({ findByKeyHash: devices.findByKeyHash });
