import type { AlertNotification } from '../../schemas/alert-notification.ts';
import type { AlertSnoozed } from '../../schemas/events.ts';

/** The shape the `alerts` rule's input transformer builds; declared beside that transformer. */
export { AlertNotification } from '../../schemas/alert-notification.ts';

/** SNS subjects are at most 100 printable ASCII characters without line breaks (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). */
export const snsSubject = (subject: string): string =>
  subject
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100)
    .trim();

export interface PublishInput {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, string>;
}

export const toPublishInput = (notification: AlertNotification): PublishInput => ({
  subject: snsSubject(notification.subject),
  message: notification.message,
  attributes: { deviceId: notification.deviceId, severity: notification.severity },
});

/**
 * The snooze's own detail-type. The compiler holds it to the contract's; importing the contract's
 * value instead would bundle every event schema of `schemas/events.ts` into the notifier (zod's
 * builders are not all marked side-effect free, so esbuild cannot drop the unused ones).
 */
const SNOOZED: (typeof AlertSnoozed)['detailType'] = 'AlertSnoozed';

/** Port of the notify use case: publishes one message to the alerts topic and answers its message id. */
export interface NotifyDeps {
  publish(input: PublishInput): Promise<string>;
  /** Until when the alert is snoozed, if it is (read from the alert history). */
  snoozedUntil(alertId: string): Promise<string | undefined>;
  now(): Date;
}

/**
 * One alert event becomes one topic message carrying the attributes subscription filter policies
 * match on; while the alert is snoozed nothing is sent for it but the snooze itself.
 */
export const notify = async (
  notification: AlertNotification,
  deps: NotifyDeps,
): Promise<{ messageId: string } | { held: 'snoozed' }> => {
  if (notification.detailType !== SNOOZED) {
    const until = await deps.snoozedUntil(notification.alertId);
    if (until !== undefined && Date.parse(until) > deps.now().getTime()) return { held: 'snoozed' };
  }
  return { messageId: await deps.publish(toPublishInput(notification)) };
};
