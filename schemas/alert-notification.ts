import * as z from 'zod/mini';
import { DeviceId, Severity } from './common.ts';

/**
 * What the `alerts` rule's input transformer hands the notifier: the text is already readable,
 * the notifier only adds what EventBridge's SNS target cannot set, the message attributes that
 * subscription filter policies match on.
 */
export const AlertNotification = /* @__PURE__ */ z.strictObject({
  eventId: /* @__PURE__ */ z.uuid(),
  /** The event's detail-type: a snoozed alert's notifications are held back, except the snooze's own. */
  detailType: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
  alertId: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
  deviceId: DeviceId,
  severity: Severity,
  subject: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
  message: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
});
export type AlertNotification = z.infer<typeof AlertNotification>;

/** Each field of the notification as an input template spells it, from the paths below. */
const fieldTemplates: Record<keyof AlertNotification, string> = {
  eventId: '<eventId>',
  detailType: '<detailType>',
  alertId: '<alertId>',
  deviceId: '<deviceId>',
  severity: '<severity>',
  subject: '"<detailType> (<severity>): <deviceId>"',
  message: '"<detailType> for device <deviceId> at <time>: <summary>"',
};

/**
 * The input transformer that turns any alert event into an
 * {@link AlertNotification}; its template has exactly the schema's fields
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
 */
export const alertNotificationTransformer = {
  inputPathsMap: {
    eventId: '$.detail.metadata.eventId',
    detailType: '$.detail-type',
    alertId: '$.detail.data.alertId',
    deviceId: '$.detail.data.deviceId',
    severity: '$.detail.data.severity',
    summary: '$.detail.data.summary',
    time: '$.detail.data.time',
  },
  inputTemplate: `{${Object.entries(fieldTemplates)
    .map(([field, template]) => `"${field}": ${template}`)
    .join(', ')}}`,
} as const;
