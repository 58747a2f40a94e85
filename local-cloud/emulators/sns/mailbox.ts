/**
 * Where the local SNS "sends" email: RFC 5322 `.eml` files that any mail client opens, so the alerts a
 * user would receive from SNS can be read without an SMTP server or an AWS account.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeliveryLog } from './delivery-log.ts';

/** SNS's sender; the display name is the topic's `DisplayName` when it has one. */
export const SNS_SENDER_ADDRESS = 'no-reply@sns.amazonaws.com';
export const DEFAULT_SENDER_NAME = 'AWS Notifications';

/** An email the local SNS delivered. */
export interface DeliveredMail {
  /** The `.eml` file, when mail is written to disk. */
  readonly file?: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  /** The SNS message this email carries (a notification's MessageId, or the confirmation's). */
  readonly messageId: string;
  readonly topicArn: string;
}

export interface OutgoingMail {
  readonly senderName: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly messageId: string;
  readonly topicArn: string;
}

/** RFC 5322 limits a line to 998 octets; longer lines need a transfer encoding. */
const MAX_LINE_OCTETS = 998;

const rfc5322Date = (date: Date): string => date.toUTCString().replace(/GMT$/, '+0000');

const isPrintableAscii = (text: string) => /^[\x20-\x7e]*$/.test(text);

/** A display name as a quoted string, or an RFC 2047 encoded word when it is not ASCII. */
const displayName = (name: string): string =>
  isPrintableAscii(name)
    ? `"${name.replace(/["\\]/g, (char) => `\\${char}`)}"`
    : `=?UTF-8?B?${Buffer.from(name).toString('base64')}?=`;

const headerText = (text: string): string =>
  isPrintableAscii(text) ? text : `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;

const hex = (byte: number) => `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/** RFC 2045 quoted-printable, for bodies with lines too long to send as they are. */
const quotedPrintable = (lines: readonly string[]): string =>
  lines
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      let encoded = '';
      let current = '';
      bytes.forEach((byte, index) => {
        const last = index === bytes.length - 1;
        const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
        const token = literal ? String.fromCharCode(byte) : hex(byte);
        if (current.length + token.length > 75) {
          encoded += `${current}=\r\n`;
          current = '';
        }
        current += token;
      });
      return encoded + current;
    })
    .join('\r\n');

/**
 * Renders an email as RFC 5322 text: CRLF line ends, a UTF-8 `text/plain` body sent as 8bit, or as
 * quoted-printable when a line is longer than the 998 octets a mail line may have.
 */
export const renderEml = (mail: OutgoingMail, headerMessageId: string, date: Date): string => {
  const lines = mail.body.split(/\r\n|\r|\n/);
  const long = lines.some((line) => Buffer.byteLength(line) > MAX_LINE_OCTETS);
  const headers = [
    `From: ${displayName(mail.senderName)} <${SNS_SENDER_ADDRESS}>`,
    `To: ${mail.to}`,
    `Subject: ${headerText(mail.subject)}`,
    `Date: ${rfc5322Date(date)}`,
    `Message-ID: <${headerMessageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    `Content-Transfer-Encoding: ${long ? 'quoted-printable' : '8bit'}`,
    `X-Amz-Sns-Message-Id: ${mail.messageId}`,
    `X-Amz-Sns-Topic-Arn: ${mail.topicArn}`,
  ];
  const body = long ? quotedPrintable(lines) : lines.join('\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
};

/** An email's file name: when it was sent (colons and dots as dashes, for every file system), then its id. */
const mailFileName = (sentAt: Date, id: string): string =>
  `${sentAt.toISOString().replace(/[:.]/g, '-')}-${id}.eml`;

/** When an email was sent, read back from its file name ({@link mailFileName}); undefined for a name that is not one. */
export const sentAtOfMailFile = (fileName: string): Date | undefined => {
  const iso = fileName.slice(0, 24).replace(/^(.{13})-(..)-(..)-(...)Z$/, '$1:$2:$3.$4Z');
  const sentAt = new Date(iso);
  if (!fileName.endsWith('.eml') || Number.isNaN(sentAt.getTime())) return undefined;
  return sentAt.toISOString() === iso ? sentAt : undefined;
};

/** Delivered email, as `.eml` files in `dir` (each written whole, then renamed into place) or in memory. */
export class Mailbox extends DeliveryLog<DeliveredMail> {
  /**
   * Writes one email. With `once`, the file is named after that delivery and written only if it is
   * not there yet, so a delivery that is resumed after a crash does not send its email twice.
   */
  async deliver(
    mail: OutgoingMail,
    once?: { readonly id: string; readonly at: Date },
  ): Promise<DeliveredMail> {
    const date = once?.at ?? new Date();
    const id = once?.id ?? randomUUID();
    const { senderName: _, ...summary } = mail;
    let delivered: DeliveredMail = summary;
    if (this.dir) {
      const file = join(this.dir, mailFileName(date, id));
      if (!once || !existsSync(file)) {
        await writeFile(`${file}.tmp`, renderEml(mail, `${id}@sns.sensorbus.local`, date));
        await rename(`${file}.tmp`, file);
      }
      delivered = { file, ...summary };
    }
    this.remember(delivered);
    return delivered;
  }
}
