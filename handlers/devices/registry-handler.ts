import type { APIGatewayProxyEvent } from 'aws-lambda';
import { PutDeviceRequest, RotateKeyRequest } from '../../schemas/device.ts';
import { dynamoAlerts } from '../alerts/records.ts';
import { hashApiKey, newApiKey, principalOf, requireAdmin } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridgeAtFirstUse } from '../lib/clients/eventbridge-at-first-use.ts';
import { dynamoConnections } from '../lib/connections-store.ts';
import { dynamoDeviceKeys } from '../lib/device-keys-store.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError } from '../lib/errors.ts';
import { publishAll } from '../lib/events.ts';
import { json, noContent, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { type DeleteDeviceDeps, deleteDevice, putDevice, rotateKey } from './devices.ts';
import { deviceIdOf } from './routes.ts';

/** `POST /devices/{id}/keys` may come without a body: every field of it is optional. */
const optionalBody = (event: APIGatewayProxyEvent): unknown =>
  (event.body ?? '').trim() === '' ? {} : parseJsonBody(event);

/**
 * The device registry's changes, each for an admin: `PUT /devices/{deviceId}` (register or
 * update), `POST /devices/{deviceId}/keys` (rotate the key) and `DELETE /devices/{deviceId}`.
 * Routed by API Gateway's resource path. Apart from the reads (`handler.ts`), which the dashboards
 * make every 30 s: those neither write nor load what these need.
 */
export const makeHandler = (deps: DeleteDeviceDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const route = `${event.httpMethod} ${event.resource}`;
    switch (route) {
      case 'PUT /devices/{deviceId}': {
        requireAdmin(principal);
        const deviceId = deviceIdOf(event);
        const request = validate(PutDeviceRequest(), parseJsonBody(event));
        const outcome = await putDevice(deviceId, request, deps);
        return outcome.created
          ? json(201, { device: outcome.device, apiKey: outcome.apiKey })
          : json(200, { device: outcome.device });
      }
      case 'DELETE /devices/{deviceId}': {
        requireAdmin(principal);
        await deleteDevice(principal, deviceIdOf(event), deps);
        return noContent();
      }
      case 'POST /devices/{deviceId}/keys': {
        requireAdmin(principal);
        const deviceId = deviceIdOf(event);
        const request = validate(RotateKeyRequest(), optionalBody(event));
        return json(201, await rotateKey(deviceId, request, deps));
      }
      default:
        throw new NotFoundError(`No route ${route}`);
    }
  });

const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));
const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));
const connections = dynamoConnections(dynamo, requireEnv('CONNECTIONS_TABLE'));

export const handler = makeHandler({
  devices,
  keys: dynamoDeviceKeys(dynamo, requireEnv('DEVICE_KEYS_TABLE')),
  newApiKey,
  hashApiKey,
  now: () => new Date(),
  endSubscriptionsTo: (deviceId) => connections.endSubscriptionsTo(deviceId),
  activeAlertsOf: async (deviceId, openAlertIds) => {
    const listed = await alerts.query({ deviceId });
    const unlisted = openAlertIds.filter((alertId) => !listed.some((alert) => alert.alertId === alertId));
    const recorded = await Promise.all(unlisted.map((alertId) => alerts.get(alertId)));
    return [...listed, ...recorded.flatMap((alert) => alert ?? [])].filter(
      (alert) => alert.state === 'active',
    );
  },
  lifecycle: {
    alerts,
    releaseAlertState: (deviceId, key, alertId, at) => devices.releaseAlertState(deviceId, key, alertId, at),
    publish: (entries) => publishAll(eventBridgeAtFirstUse(), entries),
    busName: requireEnv('TELEMETRY_BUS'),
    now: () => new Date(),
  },
});
