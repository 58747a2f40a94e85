import * as z from 'zod/mini';
import { AlertData, AlertRaised, AlertResolved } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { dynamoAlerts } from './records.ts';

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

const AlertEvent = z.object({
  'detail-type': z.enum([AlertRaised.detailType, AlertResolved.detailType]),
  detail: z.object({ data: AlertData }),
});

/** Target of the `alert-history` rule: keeps the record of every alert that `GET /alerts` serves. */
export const handler = async (event: unknown): Promise<void> => {
  const parsed = AlertEvent.parse(event);
  const data = parsed.detail.data;
  if (parsed['detail-type'] === AlertRaised.detailType) await alerts.recordRaised(data);
  else await alerts.recordResolved(data);
};
