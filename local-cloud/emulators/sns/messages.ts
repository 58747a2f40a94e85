/**
 * What SNS sends to subscribers: the JSON documents HTTP/S (and email-json) endpoints receive, and the
 * texts of its emails. Shapes and wording copy AWS's, so code written against real SNS deliveries
 * (a webhook that confirms its subscription, a parser of notification JSON) works unchanged locally.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
 */
import type { SnsMessageAttribute } from './filter-policy.ts';

/**
 * SNS signs every HTTP/S message with an X.509 certificate; the local SNS does not, so receivers must
 * skip signature verification locally. The value is valid base64 (so parsers that decode it do not
 * fail) and decodes to a note saying so.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */
export const LOCAL_SIGNATURE = Buffer.from('sensorbus local SNS: messages are not signed').toString('base64');

/** The file name SNS gives its signing certificates; nothing is served there locally. */
export const signingCertUrl = (baseUrl: string) => `${baseUrl}/SimpleNotificationService-local-unsigned.pem`;

/** A message attribute as notifications carry it: `{"Type": …, "Value": …}`, binary values in base64. */
export interface EnvelopeAttribute {
  Type: string;
  Value: string;
}

/** https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html */
export interface NotificationEnvelope {
  Type: 'Notification';
  MessageId: string;
  TopicArn: string;
  /** Absent when Publish had no Subject, as on AWS. */
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1';
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL: string;
  MessageAttributes?: Record<string, EnvelopeAttribute>;
}

/**
 * https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html and
 * https://docs.aws.amazon.com/sns/latest/dg/http-unsubscribe-confirmation-json.html
 */
export interface ConfirmationEnvelope {
  Type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  Token: string;
  TopicArn: string;
  Message: string;
  SubscribeURL: string;
  Timestamp: string;
  SignatureVersion: '1';
  Signature: string;
  SigningCertURL: string;
}

/**
 * Links point at the edge, which hands their GET query to the local SNS like any Query call; the ARN is
 * left unencoded, as in AWS's own links.
 */
export const subscribeUrl = (baseUrl: string, topicArn: string, token: string) =>
  `${baseUrl}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${token}`;

export const unsubscribeUrl = (baseUrl: string, subscriptionArn: string) =>
  `${baseUrl}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`;

/** Message attributes in the `{"Type", "Value"}` form notifications use; `undefined` when there are none. */
export const envelopeAttributes = (
  attributes: Readonly<Record<string, SnsMessageAttribute>>,
): Record<string, EnvelopeAttribute> | undefined => {
  const names = Object.keys(attributes);
  if (names.length === 0) return undefined;
  return Object.fromEntries(
    names.map((name) => {
      const attribute = attributes[name] as SnsMessageAttribute;
      const value = attribute.BinaryValue
        ? Buffer.from(attribute.BinaryValue).toString('base64')
        : (attribute.StringValue ?? '');
      return [name, { Type: attribute.DataType, Value: value }];
    }),
  );
};

export interface NotificationInput {
  readonly baseUrl: string;
  readonly messageId: string;
  readonly topicArn: string;
  readonly subscriptionArn: string;
  readonly subject: string | undefined;
  readonly message: string;
  readonly timestamp: string;
  readonly attributes: Readonly<Record<string, SnsMessageAttribute>>;
}

export const notificationEnvelope = (input: NotificationInput): NotificationEnvelope => {
  const attributes = envelopeAttributes(input.attributes);
  return {
    Type: 'Notification',
    MessageId: input.messageId,
    TopicArn: input.topicArn,
    ...(input.subject === undefined ? {} : { Subject: input.subject }),
    Message: input.message,
    Timestamp: input.timestamp,
    SignatureVersion: '1',
    Signature: LOCAL_SIGNATURE,
    SigningCertURL: signingCertUrl(input.baseUrl),
    UnsubscribeURL: unsubscribeUrl(input.baseUrl, input.subscriptionArn),
    ...(attributes ? { MessageAttributes: attributes } : {}),
  };
};

export interface ConfirmationInput {
  readonly baseUrl: string;
  readonly messageId: string;
  readonly topicArn: string;
  readonly token: string;
  readonly timestamp: string;
}

export const subscriptionConfirmationEnvelope = (input: ConfirmationInput): ConfirmationEnvelope => ({
  Type: 'SubscriptionConfirmation',
  MessageId: input.messageId,
  Token: input.token,
  TopicArn: input.topicArn,
  Message: `You have chosen to subscribe to the topic ${input.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
  SubscribeURL: subscribeUrl(input.baseUrl, input.topicArn, input.token),
  Timestamp: input.timestamp,
  SignatureVersion: '1',
  Signature: LOCAL_SIGNATURE,
  SigningCertURL: signingCertUrl(input.baseUrl),
});

export const unsubscribeConfirmationEnvelope = (
  input: ConfirmationInput & { readonly subscriptionArn: string },
): ConfirmationEnvelope => ({
  ...subscriptionConfirmationEnvelope(input),
  Type: 'UnsubscribeConfirmation',
  Message: `You have chosen to deactivate subscription ${input.subscriptionArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`,
});

/** The subject of SNS emails when Publish has none. */
export const DEFAULT_EMAIL_SUBJECT = 'AWS Notification Message';

export const CONFIRMATION_EMAIL_SUBJECT = 'AWS Notification - Subscription Confirmation';

/** The body of a notification email: the message, then SNS's unsubscribe footer. */
export const notificationEmailBody = (message: string, unsubscribe: string): string =>
  [
    message,
    '',
    '--',
    'If you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:',
    unsubscribe,
    '',
    'Please do not reply directly to this email. If you have any questions or comments regarding this email, please contact us at https://aws.amazon.com/support',
    '',
  ].join('\n');

/** The body of SNS's subscription confirmation email, plus a line saying the local SNS confirmed it. */
export const confirmationEmailBody = (topicArn: string, confirm: string): string =>
  [
    'You have chosen to subscribe to the topic: ',
    topicArn,
    '',
    'To confirm this subscription, click or visit the link below (If this was in error no action is necessary): ',
    `Confirm subscription: ${confirm}`,
    '',
    'Please do not reply directly to this email. If you wish to remove yourself from receiving all future SNS subscription confirmation requests please send an email to sns-opt-out',
    '',
    '(sensorbus local SNS: this subscription was confirmed automatically; the link above works too.)',
    '',
  ].join('\n');
