import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { DeviceId } from '../../schemas/common.ts';
import { canSee, principalOf, requireDevice } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { json, validate, withErrors } from '../lib/http.ts';
import { type AlertRecord, dynamoAlerts } from './records.ts';

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

export const AlertsQuery = z
  .object({
    deviceId: DeviceId.optional(),
    state: z.enum(['active', 'resolved']).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

/** `GET /alerts?deviceId&state=active|resolved&limit`: alert records the token may see, newest first. */
export const handler = withErrors(async (event: APIGatewayProxyEvent) => {
  const principal = principalOf(event);
  const query = validate(AlertsQuery, event.queryStringParameters ?? {});
  const limit = query.limit ?? 100;
  let items: AlertRecord[];
  if (query.deviceId) {
    requireDevice(principal, query.deviceId);
    items = (await alerts.query({ deviceId: query.deviceId }, limit)).filter(
      (a) => !query.state || a.state === query.state,
    );
  } else {
    const states = query.state ? [query.state] : (['active', 'resolved'] as const);
    items = (await Promise.all(states.map((state) => alerts.query({ state }, limit))))
      .flat()
      .filter((a) => canSee(principal, a.deviceId));
  }
  items.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return json(200, { items: items.slice(0, limit) });
});
