import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { newSigningKey } from '../../handlers/lib/auth.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import recordedSqs from '../fixtures/aws-answers/localstack-sqs.json' with { type: 'json' };
import { type CloudProcess, cloudProcesses, freePort, kill9 } from '../support/cloud-processes.ts';
import { edgeClientConfig, waitFor } from '../support/local-cloud.ts';
import { createQueueWithDeadLetterQueue } from '../support/sqs.ts';

/** A cancelled task as AWS lists it (no TaskHandle). */
const recordedCancelled = recordedSqs.answers['move-task-cancelled'].answer.Results[0] ?? {};

const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-sqs-crash-'));
// No scheduled functions: this suite moves messages between its own queues only, and each would start
// cold after every restart
const processes = cloudProcesses({
  signingKey: newSigningKey(),
  awsCredentials: newAwsCredentials(),
  env: { TEST_SCHEDULE_INTERVAL_MS: '0' },
});
const clients: SQSClient[] = [];

afterAll(() => {
  processes.killAll();
  for (const client of clients) client.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientOf = (cloud: CloudProcess) => {
  const client = new SQSClient(edgeClientConfig(cloud.edge));
  clients.push(client);
  return client;
};

/**
 * A running process with a dead-letter queue holding `count` messages and a move task started at
 * `rate` a second to an empty queue.
 */
const startedMoveTask = async (
  ports: { api: number; edge: number },
  name: string,
  count: number,
  rate: number,
) => {
  const first = await processes.start(ports, dataDir);
  const sqs = clientOf(first);
  const { dlqUrl, dlqArn } = await createQueueWithDeadLetterQueue(sqs, name, 1);
  const { QueueUrl: destinationUrl = '' } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-destination` }),
  );
  const bodies = Array.from({ length: count }, (_, i) => `${name} ${i}`);
  for (let first = 0; first < count; first += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: bodies.slice(first, first + 10).map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
  }
  const destinationArn = localArns.queue(`${name}-destination`);
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: dlqArn,
      DestinationArn: destinationArn,
      MaxNumberOfMessagesPerSecond: rate,
    }),
  );
  return { first, sqs, TaskHandle, bodies, dlqUrl, dlqArn, destinationUrl, destinationArn };
};

/** Every message of a queue, each received once and deleted, by body (a duplicate would show twice). */
const drain = async (sqs: SQSClient, QueueUrl: string): Promise<string[]> => {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return bodies.sort();
    for (const message of Messages) {
      bodies.push(message.Body ?? '');
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
};

const latestTask = async (sqs: SQSClient, SourceArn: string): Promise<ListMessageMoveTasksResultEntry> => {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn }));
  return Results[0] ?? {};
};

describe('a message move task when the process is killed', () => {
  it('resumes after restart with the same handle, and moves every message exactly once', {
    timeout: 150_000,
  }, async () => {
    // Prepare: a paced task that has moved some of its messages when the process dies
    const ports = { api: await freePort(), edge: await freePort() };
    // Ten at one a second, killed once the first has moved: the task moves nothing while no process
    // runs, so the restarted process still has most of them to move when it is asked.
    const { first, sqs: before, TaskHandle, ...queues } = await startedMoveTask(ports, 'resumed', 10, 1);
    await waitFor(
      async () => ((await latestTask(before, queues.dlqArn)).ApproximateNumberOfMessagesMoved ?? 0) > 0,
      'a first message moved',
    );

    // Act
    await kill9(first.child);
    const second = await processes.start(ports, dataDir);
    const after = clientOf(second);
    const resumed = await latestTask(after, queues.dlqArn);
    const completed = await waitFor(
      async () => {
        const task = await latestTask(after, queues.dlqArn);
        return task.Status === 'COMPLETED' && task;
      },
      'the resumed task completed',
      60_000,
    );

    // Assess
    expect(resumed.TaskHandle ?? 'none').toBe(TaskHandle);
    expect(completed).toMatchObject({
      ApproximateNumberOfMessagesMoved: 10,
      ApproximateNumberOfMessagesToMove: 10,
      DestinationArn: queues.destinationArn,
    });
    expect(await drain(after, queues.destinationUrl)).toEqual([...queues.bodies].sort());
    expect(await drain(after, queues.dlqUrl)).toEqual([]);
    await kill9(second.child);
  });

  it('reports a task being cancelled at the kill as CANCELLED after restart, as AWS lists one, each message in one queue only', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a slow task, cancelled, and the process killed at once
    const ports = { api: await freePort(), edge: await freePort() };
    const { first, sqs: before, TaskHandle, ...queues } = await startedMoveTask(ports, 'cancelled', 5, 1);
    await before.send(new CancelMessageMoveTaskCommand({ TaskHandle }));

    // Act
    await kill9(first.child);
    const second = await processes.start(ports, dataDir);
    const after = clientOf(second);
    const task = await latestTask(after, queues.dlqArn);
    const moved = await drain(after, queues.destinationUrl);
    const left = await drain(after, queues.dlqUrl);

    // Assess
    expect(Object.keys(task).sort()).toEqual(Object.keys(recordedCancelled).sort());
    expect(task).toMatchObject({
      Status: 'CANCELLED',
      SourceArn: queues.dlqArn,
      DestinationArn: queues.destinationArn,
      MaxNumberOfMessagesPerSecond: 1,
      ApproximateNumberOfMessagesToMove: 5,
    });
    expect(moved.length).toBe(task.ApproximateNumberOfMessagesMoved);
    expect([...moved, ...left].sort()).toEqual([...queues.bodies].sort());
    await kill9(second.child);
  });
});
