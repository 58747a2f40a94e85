import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueOf, deadLetterQueueOfQueue } from '../../infra/topology-types.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';
import { tapTopology } from '../support/queue-topology.ts';

const tapQueue = tapTopology.queues.readingsTap?.name ?? '';

let t: TestCloud;
let sqs: SQSClient;

beforeAll(async () => {
  t = await startTestCloud({ topology: tapTopology, retryBaseDelayMs: 5 });
  sqs = new SQSClient(edgeClientConfig(t.cloud));
});
afterAll(async () => {
  sqs.destroy();
  await t.stop();
});

const urlOf = async (QueueName: string) =>
  (await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl ?? '';

/**
 * Receives until `count` messages came, and deletes them as a consumer that handled them does;
 * `failing` consumers leave them to be received again at once.
 */
const receive = async (QueueName: string, count: number, failing = false) => {
  const QueueUrl = await urlOf(QueueName);
  const received: Message[] = [];
  await waitFor(async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        ...(failing ? { VisibilityTimeout: 0 } : {}),
      }),
    );
    received.push(...Messages);
    if (!failing)
      for (const { ReceiptHandle } of Messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));
    return received.length >= count;
  }, `${count} messages in ${QueueName}`);
  return received;
};

const postReading = async (deviceId: string, value: number) => {
  const apiKey = await t.registerDevice(deviceId);
  const response = await t.api('/readings', {
    method: 'POST',
    apiKey,
    json: { deviceId, timestamp: '2026-11-20T08:00:00Z', metrics: { temperature: value } },
  });
  expect(response.status).toBe(202);
};

const readingsOf = (message: Message | undefined) =>
  (JSON.parse(message?.Body ?? '{}') as { detail?: { data?: { deviceId?: string } } }).detail?.data?.deviceId;

describe('a rule target of kind queue, declared in the topology', () => {
  it('receives every event the rule matches once, through the real flow (a device upload)', async () => {
    await postReading('tap-1', 21.5);

    const messages = await receive(tapQueue, 1);
    const extra = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: await urlOf(tapQueue), WaitTimeSeconds: 1 }),
    );

    expect(messages.map(readingsOf)).toEqual(['tap-1']);
    expect(JSON.parse(messages[0]?.Body ?? '{}')).toMatchObject({
      source: 'sensorbus.ingest',
      'detail-type': 'ReadingRecorded',
    });
    expect(extra.Messages ?? []).toEqual([]);
  });

  it('delivers once after failed attempts, as EventBridge retries', async () => {
    t.cloud.faults.inject({
      service: 'target',
      operation: localArns.queue(tapQueue),
      mode: 'error',
      times: 2,
    });

    await postReading('tap-2', 22);
    const messages = await receive(tapQueue, 1);
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: await urlOf(tapQueue), WaitTimeSeconds: 1 }),
    );

    expect(messages.map(readingsOf)).toEqual(['tap-2']);
    expect(again.Messages ?? []).toEqual([]);
  });

  it("moves what its consumer fails maxReceiveCount times to the queue's own dead-letter queue", async () => {
    await postReading('tap-3', 23);
    const maxReceiveCount = tapTopology.queues.readingsTap?.maxReceiveCount ?? 0;

    for (let receives = 0; receives < maxReceiveCount; )
      receives += (await receive(tapQueue, 1, true)).length;
    // The receive after the last one allowed is the one SQS answers by moving the message.
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: await urlOf(tapQueue) }));
    const dead = await receive(deadLetterQueueOfQueue(tapQueue), 1);

    expect(after.Messages ?? []).toEqual([]);
    expect(dead.map(readingsOf)).toEqual(['tap-3']);
  });

  it("sends the event to the rule's dead-letter queue once the queue cannot take it, after the retries", async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: await urlOf(tapQueue) }));

    await postReading('tap-4', 24);
    const [letter] = await receive(deadLetterQueueOf('readings-tap'), 1);

    expect(readingsOf(letter)).toBe('tap-4');
    expect(letter?.MessageAttributes).toMatchObject({
      RULE_ARN: { StringValue: expect.stringContaining('rule/sensorbus-telemetry/readings-tap') },
      TARGET_ARN: { StringValue: localArns.queue(tapQueue) },
      ERROR_CODE: { StringValue: expect.any(String) },
    });
  });
});
