import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Mailbox, sentAtOfMailFile } from '../../../../../local-cloud/emulators/sns/mailbox.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the mailbox on disk', () => {
  it('names each email after when it was sent, which reads back to the millisecond', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'sensorbus-mailbox-'));
    dirs.push(dir);
    const sentAt = new Date('2026-11-22T00:00:30.123Z');
    const mail = {
      senderName: 'AWS Notifications',
      to: 'ops@example.com',
      subject: 'AlertRaised',
      body: 'AlertRaised for device d1',
      messageId: 'm-1',
      topicArn: 'arn:aws:sns:us-east-1:000000000000:alerts',
    };

    // Act
    await new Mailbox(dir).deliver(mail, { id: 'm-1', at: sentAt });
    const [file = ''] = readdirSync(dir);

    // Assess
    expect(sentAtOfMailFile(file)).toEqual(sentAt);
    expect(sentAtOfMailFile('notes.txt')).toBeUndefined();
    expect(sentAtOfMailFile(`2026-13-22T00-00-30-123Z-m-1.eml`)).toBeUndefined();
  });
});
