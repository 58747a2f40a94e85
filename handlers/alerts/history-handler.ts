import * as z from 'zod/mini';
import { ALERT_EVENT_NAMES, AlertRaised, AlertResolved, EventMetadata } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridgeAtFirstUse } from '../lib/clients/eventbridge-at-first-use.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishAll } from '../lib/events.ts';
import { type AlertHistoryDeps, recordAlertEvent } from './history.ts';
import { dynamoAlerts } from './records.ts';

const AlertEvent = z.object({
  'detail-type': z.enum(ALERT_EVENT_NAMES),
  detail: z.object({
    metadata: EventMetadata,
    data: z.looseObject({ alertId: z.string(), time: z.string() }),
  }),
});

/**
 * The data of a raise or a resolve (`AlertRaised.data`, the same as `AlertResolved.data`), read at
 * init: the alert schemas are built at their first use, and most of this function's invocations
 * parse one.
 */
const AlertData = AlertRaised.data;

/**
 * Target of the `alert-history` rule: parses the alert event at the edge (raised and resolved
 * also carry the alert's data) and records it ({@link recordAlertEvent}).
 */
export const makeHandler =
  (deps: AlertHistoryDeps) =>
  async (event: unknown): Promise<void> => {
    const parsed = AlertEvent.parse(event);
    const detailType = parsed['detail-type'];
    const opensOrCloses = detailType === AlertRaised.detailType || detailType === AlertResolved.detailType;
    await recordAlertEvent(
      { detailType, eventId: parsed.detail.metadata.eventId, data: parsed.detail.data },
      opensOrCloses ? AlertData.parse(parsed.detail.data) : undefined,
      deps,
    );
  };

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));
const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  record: (event, alert) => alerts.record(event, alert),
  deletedBy: async (deviceId) => {
    const deletion = await devices.deletion(deviceId);
    return deletion === undefined ? undefined : (deletion.deletedBy ?? 'deleted');
  },
  lifecycle: {
    alerts,
    // A deleted device's alarm states are final (every state write requires a live device): nothing to release.
    releaseAlertState: async () => false,
    publish: (entries) => publishAll(eventBridgeAtFirstUse(), entries),
    busName: requireEnv('TELEMETRY_BUS'),
    now: () => new Date(),
  },
});
