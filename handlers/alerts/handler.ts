import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { principalOf } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { json, validate, withErrors } from '../lib/http.ts';
import { type ListAlertsDeps, listAlerts } from './list.ts';
import { dynamoAlerts } from './records.ts';

export const AlertsQuery = z.strictObject({
  deviceId: z.optional(DeviceId),
  state: z.optional(z.enum(['active', 'resolved'])),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(500))),
});

/** `GET /alerts?deviceId&state=active|resolved&limit`: alert records the token may see, newest first. */
export const makeHandler = (deps: ListAlertsDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    const principal = principalOf(event);
    const query = validate(AlertsQuery, event.queryStringParameters ?? {});
    const items = await listAlerts(
      principal,
      {
        ...(query.deviceId ? { deviceId: query.deviceId } : {}),
        ...(query.state ? { state: query.state } : {}),
        limit: query.limit ?? 100,
      },
      deps,
    );
    return json(200, { items });
  });

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

export const handler = makeHandler({ query: (by, limit) => alerts.query(by, limit) });
