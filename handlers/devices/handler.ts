import type { APIGatewayProxyEvent } from 'aws-lambda';
import { principalOf } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError } from '../lib/errors.ts';
import { json, withErrors } from '../lib/http.ts';
import { type DevicesDeps, getDevice, listDevices } from './devices.ts';
import { deviceIdOf } from './routes.ts';

/**
 * The device registry's reads, for any token: `GET /devices` (the devices it may see) and
 * `GET /devices/{deviceId}`. Every dashboard asks every 30 s, so this function only reads the
 * devices table and loads nothing the changes need (`registry-handler.ts` makes those).
 */
export const makeHandler = (deps: Pick<DevicesDeps, 'devices'>) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const route = `${event.httpMethod} ${event.resource}`;
    switch (route) {
      case 'GET /devices':
        return json(200, { items: await listDevices(principal, deps) });
      case 'GET /devices/{deviceId}':
        return json(200, { device: await getDevice(principal, deviceIdOf(event), deps) });
      default:
        throw new NotFoundError(`No route ${route}`);
    }
  });

export const handler = makeHandler({ devices: dynamoDevices(dynamo, requireEnv('DEVICES_TABLE')) });
