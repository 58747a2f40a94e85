import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeliveryLog } from './delivery-log.ts';

/** A text message SNS sent, as the local SNS keeps it. */
export interface DeliveredSms {
  readonly to: string;
  readonly messageId: string;
  readonly sentAt: string;
  readonly message: string;
  /** The topic it was published to; absent for a Publish to a PhoneNumber. */
  readonly topicArn?: string;
}

/**
 * Where the local SNS "sends" SMS: one readable text file per message under `<data dir>/sms/`,
 * as mail goes to `mail/*.eml`, or a list in memory. SMS subscriptions need no confirmation, as on
 * AWS (https://docs.aws.amazon.com/sns/latest/dg/sns-mobile-phone-number-as-subscriber.html).
 */
export class SmsOutbox extends DeliveryLog<DeliveredSms> {
  /** Written synchronously: the message is there before Publish answers. */
  send(sms: DeliveredSms): void {
    this.remember(sms);
    if (!this.dir) return;
    const text = [
      `To: ${sms.to}`,
      `Date: ${sms.sentAt}`,
      `Message-Id: ${sms.messageId}`,
      ...(sms.topicArn ? [`Topic: ${sms.topicArn}`] : []),
      '',
      sms.message,
      '',
    ].join('\n');
    writeFileSync(join(this.dir, `${sms.sentAt.replace(/[:.]/g, '-')}-${sms.messageId}.txt`), text);
  }
}

/** A phone number SNS takes: E.164, `+` and up to 15 digits (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). */
export const PHONE_NUMBER = /^\+?[1-9]\d{1,14}$/;
