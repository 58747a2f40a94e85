import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AlertId, AlertsQuery, SnoozeRequest } from '../../schemas/alert.ts';
import { principalOf, requireRole } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridgeAtFirstUse } from '../lib/clients/eventbridge-at-first-use.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { NotFoundError } from '../lib/errors.ts';
import { publishAll } from '../lib/events.ts';
import { json, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { type AlertLifecycleDeps, acknowledge, resolve, snooze } from './lifecycle.ts';
import { type ListAlertsDeps, listAlerts, toAlert } from './list.ts';
import { dynamoAlerts } from './records.ts';

export type AlertsDeps = ListAlertsDeps & AlertLifecycleDeps;

const alertIdOf = (event: APIGatewayProxyEvent): string =>
  validate(AlertId, event.pathParameters?.alertId, ['alertId']);

/**
 * `GET /alerts?deviceId&state&acknowledged&severity&limit` (viewer): alerts newest first, each
 * with its timeline; `POST /alerts/{alertId}/acknowledge`, `/snooze` and `/resolve` (operator).
 */
export const makeHandler = (deps: AlertsDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const route = `${event.httpMethod} ${event.resource}`;
    // Every action is an operator's: a viewer is refused before anything about the request is read.
    if (event.httpMethod === 'POST') requireRole(principal, 'operator');
    switch (route) {
      case 'GET /alerts': {
        const query = validate(AlertsQuery(), event.queryStringParameters ?? {});
        const { limit, ...filter } = query;
        return json(200, { items: await listAlerts(principal, { ...filter, limit: limit ?? 100 }, deps) });
      }
      case 'POST /alerts/{alertId}/acknowledge':
        return json(200, { alert: toAlert(await acknowledge(principal, alertIdOf(event), deps)) });
      case 'POST /alerts/{alertId}/snooze': {
        const alertId = alertIdOf(event);
        const request = validate(SnoozeRequest(), parseJsonBody(event));
        return json(200, { alert: toAlert(await snooze(principal, alertId, request, deps)) });
      }
      case 'POST /alerts/{alertId}/resolve':
        return json(200, { alert: toAlert(await resolve(principal, alertIdOf(event), deps)) });
      default:
        throw new NotFoundError(`No route ${route}`);
    }
  });

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));
const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  query: (by, limit) => alerts.query(by, limit),
  alerts,
  releaseAlertState: (deviceId, key, alertId, at) => devices.releaseAlertState(deviceId, key, alertId, at),
  publish: (entries) => publishAll(eventBridgeAtFirstUse(), entries),
  busName: requireEnv('TELEMETRY_BUS'),
  now: () => new Date(),
});
