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
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SQSServiceException,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { LocalSqs } from '../../local-cloud/emulators/sqs/sqs.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { eventsAdmin } from '../../local-cloud/launcher/cli/events-admin.ts';
import recordedSqs from '../fixtures/aws-answers/localstack-sqs.json' with { type: 'json' };
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';
import { createQueueWithDeadLetterQueue } from '../support/sqs.ts';

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
    const { queueUrl: QueueUrl, dlqUrl } = await createQueueWithDeadLetterQueue(sqs, 'work', 2);
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

/** A source queue and its dead-letter queue, with `count` messages moved there by the redrive policy. */
const deadLettered = async (name: string, count: number) => {
  const { queueUrl, dlqUrl, dlqArn } = await createQueueWithDeadLetterQueue(sqs, name, 1);
  for (let i = 0; i < count; i++)
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `${name} ${i}` }));
  // Each is received once (its maxReceiveCount), and the next receive moves it to the dead-letter queue.
  for (let received = 0; received < count; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    received += Messages.length;
  }
  await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
  return { sourceUrl: queueUrl, dlqUrl, dlqArn };
};

const bodies = async (QueueUrl: string) =>
  (
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 })))
      .Messages ?? []
  )
    .map((m) => m.Body)
    .sort();

const refusal = async (call: Promise<unknown>) => {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as SQSServiceException | undefined;
  return { name: error?.name, message: error?.message, status: error?.$metadata.httpStatusCode };
};

const recorded = (name: keyof typeof recordedSqs.answers) => {
  const { answer } = recordedSqs.answers[name] as {
    answer: { Error: { Code: string; Message: string }; HTTPStatusCode: number };
  };
  return { name: answer.Error.Code, message: answer.Error.Message, status: answer.HTTPStatusCode };
};

describe('message move tasks (dead-letter queue redrive)', () => {
  it('moves a dead-letter queue back to the queue each message came from, and reports it COMPLETED', async () => {
    const { sourceUrl, dlqUrl, dlqArn } = await deadLettered('moved', 2);
    const sources = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlqUrl }));

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    const [done] = await waitFor(async () => {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return Results[0]?.Status === 'COMPLETED' && Results;
    }, 'the move task completed');

    expect(sources.queueUrls).toEqual([sourceUrl]);
    expect(TaskHandle).toEqual(expect.any(String));
    const { StartedTimestamp, ...shape } = done ?? {};
    const { StartedTimestamp: _, ...recordedShape } =
      recordedSqs.answers['move-task-default-destination-completed'].answer.Results[0] ?? {};
    expect(shape).toEqual({ ...recordedShape, SourceArn: dlqArn });
    expect(StartedTimestamp).toEqual(expect.any(Number));
    expect(await bodies(sourceUrl)).toEqual(['moved 0', 'moved 1']);
    expect(await bodies(dlqUrl)).toEqual([]);
  });

  it('moves to a given destination at a given rate, one task at a time, and cancels as AWS does', async () => {
    const { dlqUrl, dlqArn } = await deadLettered('paced', 6);
    const { QueueUrl: elsewhere } = await sqs.send(new CreateQueueCommand({ QueueName: 'paced-elsewhere' }));
    const destination = localArns.queue('paced-elsewhere');

    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlqArn,
        DestinationArn: destination,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    const second = await refusal(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn })));
    const running = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    await waitFor(async () => {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return (Results[0]?.ApproximateNumberOfMessagesMoved ?? 0) > 0;
    }, 'a first message moved');
    await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    const [cancelled] = await waitFor(async () => {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return Results[0]?.Status === 'CANCELLED' && Results;
    }, 'the task cancelled');
    const moved = cancelled?.ApproximateNumberOfMessagesMoved ?? 0;

    expect(second).toEqual(recorded('move-task-already-running'));
    expect(running.Results?.[0]).toMatchObject({
      Status: 'RUNNING',
      TaskHandle,
      DestinationArn: destination,
      MaxNumberOfMessagesPerSecond: 1,
      ApproximateNumberOfMessagesToMove: 6,
    });
    expect(cancelled).not.toHaveProperty('TaskHandle');
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(6);
    expect((await bodies(elsewhere ?? '')).length).toBe(moved);
    expect((await bodies(dlqUrl)).length).toBe(6 - moved);
  });

  it('is what `npm run events -- redrive` does for a dead-letter queue of SQS queues', async () => {
    const { sourceUrl, dlqUrl } = await deadLettered('cli-moved', 3);

    const redriven = await eventsAdmin(t.cloud).redrive('cli-moved-dlq');

    expect(redriven).toEqual({ redriven: 3, failed: 0 });
    expect(await bodies(sourceUrl)).toEqual(['cli-moved 0', 'cli-moved 1', 'cli-moved 2']);
    expect(await bodies(dlqUrl)).toEqual([]);
  });

  it('refuses what AWS refuses, with its codes and messages', async () => {
    const { dlqArn, sourceUrl } = await deadLettered('refusing', 1);
    const sourceArn = localArns.queue('refusing');

    const notDlq = await refusal(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn })));
    const noDestination = await refusal(
      sqs.send(
        new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: localArns.queue('nowhere') }),
      ),
    );
    const badHandle = await refusal(
      sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'not-a-handle' })),
    );

    expect(notDlq).toEqual(recorded('move-task-source-not-dlq'));
    expect(noDestination).toEqual(recorded('move-task-destination-missing'));
    expect(badHandle).toEqual(recorded('cancel-invalid-task-handle'));
    expect(await bodies(sourceUrl)).toEqual([]);
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
