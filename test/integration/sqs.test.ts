import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { LocalSqs } from '../../local-cloud/emulators/sqs/sqs.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { edgeClientConfig, startTestCloud, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
let sqs: SQSClient;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5 });
  sqs = new SQSClient(edgeClientConfig(t.cloud));
});
afterAll(() => t.stop());

describe('the local SQS through the AWS SDK', () => {
  it('creates, finds and lists queues, and answers QueueDoesNotExist for the others', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const again = await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }));
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'ord' }));
    const missing = sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }));

    expect(QueueUrl).toBe(`${t.cloud.edgeUrl}/000000000000/orders`);
    expect([again.QueueUrl, found.QueueUrl]).toEqual([QueueUrl, QueueUrl]);
    expect(listed.QueueUrls).toEqual([QueueUrl]);
    await expect(missing).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('sends, receives with attributes (the SDK checks both MD5s), hides for the visibility timeout, deletes', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'visibility' }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'hello',
        MessageAttributes: {
          deviceId: { DataType: 'String', StringValue: 'dev-1' },
          level: { DataType: 'Number', StringValue: '3' },
        },
      }),
    );

    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    const [message] = first.Messages ?? [];
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle }));
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));

    expect(message?.Body).toBe('hello');
    expect(message?.MessageAttributes?.level).toEqual({ DataType: 'Number', StringValue: '3' });
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(hidden.Messages ?? []).toEqual([]);
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(attributes.Attributes).toMatchObject({
      QueueArn: localArns.queue('visibility'),
      ApproximateNumberOfMessages: '0',
      VisibilityTimeout: '30',
    });
  });

  it('long-polls until a message arrives, and sends and deletes in batches', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'batches' }));
    const waiting = sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10 }),
    );
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two' },
        ],
      }),
    );
    const received = (await waiting).Messages ?? [];
    const rest = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [...received, ...(rest.Messages ?? [])].map((m, i) => ({
          Id: `d${i}`,
          ReceiptHandle: m.ReceiptHandle,
        })),
      }),
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));

    expect(sent.Successful?.map((entry) => entry.Id)).toEqual(['a', 'b']);
    expect([...received, ...(rest.Messages ?? [])].map((m) => m.Body).sort()).toEqual(['one', 'two']);
    expect(deleted.Successful).toHaveLength(2);
    expect(deleted.Failed ?? []).toEqual([]);
  });

  it('moves a message received more than maxReceiveCount times to the dead-letter queue', async () => {
    await sqs.send(new CreateQueueCommand({ QueueName: 'work-dlq' }));
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'work',
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: localArns.queue('work-dlq'),
            maxReceiveCount: 2,
          }),
        },
      }),
    );
    const dlqUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'work-dlq' }))).QueueUrl;
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));

    const receives = [];
    for (let i = 0; i < 3; i++) {
      receives.push(
        (await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }))).Messages ?? [],
      );
    }
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }));

    expect(receives.map((messages) => messages.length)).toEqual([1, 1, 0]);
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
  });

  it('takes EventBridge events as a rule target, the event as the body', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'rule-target' }));
    const events = new EventBridgeClient(edgeClientConfig(t.cloud));
    const bus = buses.telemetry.name;
    await events.send(
      new PutRuleCommand({ Name: 'to-queue', EventBusName: bus, EventPattern: '{"source":["to.queue"]}' }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'to-queue',
        EventBusName: bus,
        Targets: [{ Id: 'q', Arn: localArns.queue('rule-target') }],
      }),
    );

    await events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: bus, Source: 'to.queue', DetailType: 'T', Detail: '{"n":1}' }],
      }),
    );
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));

    const body = JSON.parse(received.Messages?.[0]?.Body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ source: 'to.queue', 'detail-type': 'T', detail: { n: 1 } });
  });
});

describe('durability', () => {
  it('keeps queues and unacknowledged messages across a restart, with their receive counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqs-'));
    const options = {
      region: 'us-east-1',
      accountId: '000000000000',
      dataDir: dir,
      publicUrl: () => 'http://edge',
    };
    const before = new LocalSqs(options);
    before.createQueue('kept');
    before.send('kept', 'first');
    await before.handle('ReceiveMessage', {
      QueueUrl: 'http://edge/000000000000/kept',
      VisibilityTimeout: 0,
    });
    before.send('kept', 'second');
    // No close(): as after SIGKILL, only what was written synchronously counts.

    const after = new LocalSqs(options);
    const kept = after.messages('kept');

    expect(after.queueNames()).toEqual(['kept']);
    expect(kept.map((m) => [m.body, m.receiveCount])).toEqual([
      ['first', 1],
      ['second', 0],
    ]);
    before.close();
    after.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
