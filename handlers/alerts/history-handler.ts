import * as z from 'zod/mini';
import { ALERT_EVENTS, AlertData, AlertRaised, AlertResolved, EventMetadata } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridge } from '../lib/clients/eventbridge.ts';
import { dynamoDevices } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishAll } from '../lib/events.ts';
import { type AlertLifecycleDeps, resolveByHand } from './lifecycle.ts';
import { type AlertEventRecord, dynamoAlerts } from './records.ts';

const detailTypes = ALERT_EVENTS.map((contract) => contract.detailType);

const AlertEvent = z.object({
  'detail-type': z.enum(detailTypes as [string, ...string[]]),
  detail: z.object({
    metadata: EventMetadata,
    data: z.looseObject({ alertId: z.string(), time: z.string() }),
  }),
});

/** Ports of the alert history; adapters live below. */
export interface AlertHistoryDeps {
  /** Records one alert event (raised and resolved also carry the alert's data). */
  record(event: AlertEventRecord, alert?: AlertData): Promise<void>;
  /** Who deleted the device, when it is deleted (its item is a tombstone); undefined for a live or unknown one. */
  deletedBy(deviceId: string): Promise<string | undefined>;
  /** What resolving an alert by hand needs, for the alerts of a device deleted before their raise arrived. */
  readonly lifecycle: AlertLifecycleDeps;
}

/**
 * Target of the `alert-history` rule: keeps the record of every alert that `GET /alerts` serves,
 * with each step of its life (raised, acknowledged, snoozed, escalated, resolved) on its timeline.
 *
 * A raise may still be on its way when its device is deleted (the deletion resolves the alerts
 * it finds, and this one is not there yet); recorded after the deletion, it is resolved at once
 * in the name of who deleted the device, as the deletion would have, so no alert of a deleted
 * device stays active. A redelivered raise finds it resolved and announces the same event again.
 */
export const makeHandler =
  (deps: AlertHistoryDeps) =>
  async (event: unknown): Promise<void> => {
    const parsed = AlertEvent.parse(event);
    const detailType = parsed['detail-type'];
    const opensOrCloses = detailType === AlertRaised.detailType || detailType === AlertResolved.detailType;
    const alert = opensOrCloses ? AlertData.parse(parsed.detail.data) : undefined;
    await deps.record(
      { detailType, eventId: parsed.detail.metadata.eventId, data: parsed.detail.data },
      alert,
    );
    if (detailType !== AlertRaised.detailType || !alert) return;
    const deletedBy = await deps.deletedBy(alert.deviceId);
    if (deletedBy === undefined) return;
    const recorded = await deps.lifecycle.alerts.get(alert.alertId);
    if (recorded) await resolveByHand(recorded, deletedBy, deps.lifecycle);
  };

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));
const devices = dynamoDevices(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  record: (event, alert) => alerts.record(event, alert),
  deletedBy: async (deviceId) => {
    const stored = await devices.getStored(deviceId);
    return stored?.deletedAt === undefined ? undefined : (stored.deletedBy ?? 'deleted');
  },
  lifecycle: {
    alerts,
    // A deleted device's alarm states are final (every state write requires a live device): nothing to release.
    releaseAlertState: async () => false,
    publish: (entries) => publishAll(eventBridge, entries),
    busName: requireEnv('TELEMETRY_BUS'),
    now: () => new Date(),
  },
});
