import * as z from 'zod/mini';
import { AlertData, AlertRaised, AlertResolved } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { dynamoAlerts } from './records.ts';

const AlertEvent = z.object({
  'detail-type': z.enum([AlertRaised.detailType, AlertResolved.detailType]),
  detail: z.object({ data: AlertData }),
});

/** Ports of the alert history: the record of an alert opened, and of one closed. */
export interface AlertHistoryDeps {
  recordRaised(data: AlertData): Promise<void>;
  recordResolved(data: AlertData): Promise<void>;
}

/** Target of the `alert-history` rule: keeps the record of every alert that `GET /alerts` serves. */
export const makeHandler =
  (deps: AlertHistoryDeps) =>
  async (event: unknown): Promise<void> => {
    const parsed = AlertEvent.parse(event);
    const data = parsed.detail.data;
    if (parsed['detail-type'] === AlertRaised.detailType) await deps.recordRaised(data);
    else await deps.recordResolved(data);
  };

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

export const handler = makeHandler({
  recordRaised: (data) => alerts.recordRaised(data),
  recordResolved: (data) => alerts.recordResolved(data),
});
