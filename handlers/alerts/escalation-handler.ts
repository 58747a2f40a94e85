import * as z from 'zod/mini';
import { dynamo } from '../lib/clients/dynamo.ts';
import { eventBridgeAtFirstUse } from '../lib/clients/eventbridge-at-first-use.ts';
import { dynamoDeviceAlarms } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { publishAll } from '../lib/events.ts';
import { type EscalationDeps, escalate } from './escalation.ts';
import { dynamoAlerts } from './records.ts';

/** What EventBridge Scheduler hands the function: its `time` is the moment the check is for. */
const ScheduledEvent = z.object({ time: z.iso.datetime({ offset: true }) });

/**
 * Scheduled every minute: escalation as of the scheduled event's `time` (the invocation's own
 * clock, which also lets a test ask for any moment).
 */
export const makeHandler =
  (deps: EscalationDeps) =>
  async (event: unknown): Promise<{ escalated: number }> => {
    const parsed = ScheduledEvent.safeParse(event);
    return escalate(parsed.success ? new Date(parsed.data.time) : new Date(), deps);
  };

const alerts = dynamoAlerts(dynamo, requireEnv('ALERTS_TABLE'));
const alarmsOf = dynamoDeviceAlarms(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  activeAlerts: () => alerts.query({ state: 'active' }),
  alarmsOf,
  publish: (entries) => publishAll(eventBridgeAtFirstUse(), entries),
  markEscalated: (alertId, escalation, at) => alerts.markEscalated(alertId, escalation, at),
  busName: requireEnv('TELEMETRY_BUS'),
});
