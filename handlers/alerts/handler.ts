import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { canSee, principalOf, requireDevice } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { json, validate, withErrors } from '../lib/http.ts';
import { type AlertRecord, dynamoAlerts } from './records.ts';

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

export const AlertsQuery = z.strictObject({
  deviceId: z.optional(DeviceId),
  state: z.optional(z.enum(['active', 'resolved'])),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(500))),
});

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
