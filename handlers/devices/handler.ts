import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DeviceId } from '../../schemas/common.ts';
import { PutDeviceRequest } from '../../schemas/device.ts';
import { hashApiKey, newApiKey, principalOf, requireAdmin } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError } from '../lib/errors.ts';
import { json, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { type DevicesDeps, getDevice, listDevices, putDevice } from './devices.ts';

const deviceIdOf = (event: APIGatewayProxyEvent): string =>
  validate(DeviceId, event.pathParameters?.deviceId, ['deviceId']);

/**
 * The device registry: `PUT /devices/{deviceId}` (admin), `GET /devices` and
 * `GET /devices/{deviceId}` (viewer). One function, routed by API Gateway's resource path.
 */
export const makeHandler = (deps: DevicesDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const route = `${event.httpMethod} ${event.resource}`;
    switch (route) {
      case 'PUT /devices/{deviceId}': {
        requireAdmin(principal);
        const deviceId = deviceIdOf(event);
        const request = validate(PutDeviceRequest, parseJsonBody(event));
        const outcome = await putDevice(deviceId, request, deps);
        return outcome.created
          ? json(201, { device: outcome.device, apiKey: outcome.apiKey })
          : json(200, { device: outcome.device });
      }
      case 'GET /devices':
        return json(200, { items: await listDevices(principal, deps) });
      case 'GET /devices/{deviceId}':
        return json(200, { device: await getDevice(principal, deviceIdOf(event), deps) });
      default:
        throw new NotFoundError(`No route ${route}`);
    }
  });

export const handler = makeHandler({
  devices: dynamoDevices(dynamo, requireEnv('DEVICES_TABLE')),
  newApiKey,
  hashApiKey,
  now: () => new Date(),
});
