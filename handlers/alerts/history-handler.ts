import * as z from 'zod/mini';
import { ALERT_EVENTS, AlertData, AlertRaised, AlertResolved, EventMetadata } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv } from '../lib/env.ts';
import { type AlertEventRecord, dynamoAlerts } from './records.ts';

const detailTypes = ALERT_EVENTS.map((contract) => contract.detailType);

const AlertEvent = z.object({
  'detail-type': z.enum(detailTypes as [string, ...string[]]),
  detail: z.object({
    metadata: EventMetadata,
    data: z.looseObject({ alertId: z.string(), time: z.string() }),
  }),
});

/** Port of the alert history: records one alert event (raised and resolved also carry the alert's data). */
export interface AlertHistoryDeps {
  record(event: AlertEventRecord, alert?: AlertData): Promise<void>;
}

/**
 * Target of the `alert-history` rule: keeps the record of every alert that `GET /alerts` serves,
 * with each step of its life (raised, acknowledged, snoozed, escalated, resolved) on its timeline.
 */
export const makeHandler =
  (deps: AlertHistoryDeps) =>
  async (event: unknown): Promise<void> => {
    const parsed = AlertEvent.parse(event);
    const detailType = parsed['detail-type'];
    const opensOrCloses = detailType === AlertRaised.detailType || detailType === AlertResolved.detailType;
    await deps.record(
      { detailType, eventId: parsed.detail.metadata.eventId, data: parsed.detail.data },
      opensOrCloses ? AlertData.parse(parsed.detail.data) : undefined,
    );
  };

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));

export const handler = makeHandler({ record: (event, alert) => alerts.record(event, alert) });
