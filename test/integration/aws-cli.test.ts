import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses, ENRICH_DEAD_LETTERS, stateMachines, tables, topics } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { awsCliSession } from '../support/aws-cli.ts';
import { startTestCloud, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
let cli: ReturnType<typeof awsCliSession>;
beforeAll(async () => {
  t = await startTestCloud();
  cli = awsCliSession(t.cloud);
});
afterAll(async () => {
  await cli.close();
  await t.stop();
});

/** Runs the AWS CLI against the edge; answers its exit code, parsed stdout and stderr. */
const aws = async (...args: string[]) => {
  const { code, stdout, stderr } = await cli.run(...args, '--output', 'json');
  return {
    code,
    json: code === 0 && stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {},
    stderr,
  };
};

// The commands run one after another in one CLI process (a Python start per command took most of
// the file's time); each still goes through the CLI's driver, its botocore session and the edge.
describe('the AWS CLI pointed at the edge', { timeout: 120_000 }, () => {
  it('lists, adds, tests and removes EventBridge rules, with AWS error codes', async () => {
    const bus = buses.telemetry.name;
    const listed = await aws('events', 'list-rules', '--event-bus-name', bus);
    const put = await aws(
      'events',
      'put-rule',
      '--name',
      'cli-rule',
      '--event-bus-name',
      bus,
      '--event-pattern',
      '{"source":["cli.test"]}',
    );
    const targets = await aws(
      'events',
      'put-targets',
      '--rule',
      'cli-rule',
      '--event-bus-name',
      bus,
      '--targets',
      JSON.stringify([{ Id: 'ws', Arn: localArns.bus(buses.websocket.name) }]),
    );
    const described = await aws('events', 'describe-rule', '--name', 'cli-rule', '--event-bus-name', bus);
    const tested = await aws(
      'events',
      'test-event-pattern',
      '--event-pattern',
      '{"source":["cli.test"]}',
      '--event',
      JSON.stringify({
        id: '1',
        account: '000000000000',
        source: 'cli.test',
        time: '2026-11-23T10:00:00Z',
        region: 'us-east-1',
        'detail-type': 'x',
        detail: {},
      }),
    );
    const missing = await aws('events', 'describe-rule', '--name', 'no-such-rule', '--event-bus-name', bus);
    const invalid = await aws(
      'events',
      'put-rule',
      '--name',
      'bad',
      '--event-bus-name',
      bus,
      '--event-pattern',
      '{"source":"not-a-list"}',
    );
    await aws('events', 'remove-targets', '--rule', 'cli-rule', '--event-bus-name', bus, '--ids', 'ws');
    const deleted = await aws('events', 'delete-rule', '--name', 'cli-rule', '--event-bus-name', bus);

    expect((listed.json.Rules as { Name: string }[]).map((r) => r.Name)).toContain('enrich');
    expect(put.json.RuleArn).toBe(`arn:aws:events:us-east-1:000000000000:rule/${bus}/cli-rule`);
    expect(targets.json.FailedEntryCount).toBe(0);
    expect(described.json).toMatchObject({ Name: 'cli-rule', State: 'ENABLED', EventBusName: bus });
    expect(tested.json.Result).toBe(true);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFoundException');
    expect(invalid.stderr).toContain('InvalidEventPatternException');
    expect(deleted.code).toBe(0);
  });

  it('creates a bus, archives it and replays the archive, as on AWS', async () => {
    const bus = 'cli-bus';
    const busArn = localArns.bus(bus);
    const created = await aws('events', 'create-event-bus', '--name', bus);
    const archive = await aws(
      'events',
      'create-archive',
      '--archive-name',
      'cli-archive',
      '--event-source-arn',
      busArn,
    );
    const put = await aws(
      'events',
      'put-events',
      '--entries',
      JSON.stringify([
        { EventBusName: bus, Source: 'cli', DetailType: 'T', Detail: '{}', Time: '2026-01-01T00:10:00Z' },
      ]),
    );
    const replay = await aws(
      'events',
      'start-replay',
      '--replay-name',
      'cli-replay',
      '--event-source-arn',
      archive.json.ArchiveArn as string,
      '--event-start-time',
      '2026-01-01T00:00:00Z',
      '--event-end-time',
      '2026-01-01T01:00:00Z',
      '--destination',
      JSON.stringify({ Arn: busArn }),
    );
    const listed = await aws('events', 'list-event-buses', '--name-prefix', 'cli-');
    const deleteDefault = await aws('events', 'delete-event-bus', '--name', 'default');

    expect(created.json.EventBusArn).toBe(busArn);
    expect(put.json.FailedEntryCount).toBe(0);
    expect(replay.json).toMatchObject({ State: 'STARTING' });
    expect((listed.json.EventBuses as { Name: string }[]).map((b) => b.Name)).toEqual([bus]);
    expect(deleteDefault.stderr).toContain('ValidationException');
  });

  it('publishes to and subscribes on SNS topics', async () => {
    const topicArn = localArns.topic(topics.alerts.name);
    const listed = await aws('sns', 'list-topics');
    const subscribed = await aws(
      'sns',
      'subscribe',
      '--topic-arn',
      topicArn,
      '--protocol',
      'email',
      '--notification-endpoint',
      'cli@example.com',
    );
    const published = await aws(
      'sns',
      'publish',
      '--topic-arn',
      topicArn,
      '--subject',
      'From the CLI',
      '--message',
      'hello',
    );
    const subscriptions = await aws('sns', 'list-subscriptions-by-topic', '--topic-arn', topicArn);
    const missing = await aws('sns', 'publish', '--topic-arn', localArns.topic('nope'), '--message', 'x');

    expect((listed.json.Topics as { TopicArn: string }[]).map((x) => x.TopicArn)).toContain(topicArn);
    expect(subscribed.json.SubscriptionArn).toMatch(/^arn:aws:sns:/);
    expect(published.json.MessageId).toBeTruthy();
    expect((subscriptions.json.Subscriptions as { Endpoint: string }[]).map((s) => s.Endpoint)).toContain(
      'cli@example.com',
    );
    expect(missing.stderr).toContain('NotFound');
  });

  it('reads DynamoDB tables, Step Functions executions and WebSocket connections', async () => {
    await t.registerDevice('cli-device');
    const scanned = await aws('dynamodb', 'scan', '--table-name', tables.devices.name);
    const executions = await aws(
      'stepfunctions',
      'list-executions',
      '--state-machine-arn',
      localArns.stateMachine(stateMachines.enrichReading.name),
    );
    const gone = await aws(
      'apigatewaymanagementapi',
      'post-to-connection',
      '--connection-id',
      'Zm9vYmFy=',
      '--data',
      '{}',
    );

    expect(scanned.json.Count).toBeGreaterThanOrEqual(1);
    expect(executions.code).toBe(0);
    expect(Array.isArray(executions.json.executions)).toBe(true);
    expect(gone.stderr).toContain('GoneException');
  });

  it('sends, receives and deletes SQS messages (the CLI speaks SQS Query), and reads the dead-letter queues', async () => {
    const created = await aws('sqs', 'create-queue', '--queue-name', 'cli-queue');
    const queueUrl = String(created.json.QueueUrl);
    const sent = await aws(
      'sqs',
      'send-message',
      '--queue-url',
      queueUrl,
      '--message-body',
      'hello <cli> & co',
      '--message-attributes',
      '{"kind":{"DataType":"String","StringValue":"greeting"}}',
    );
    const attributes = await aws(
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      queueUrl,
      '--attribute-names',
      'ApproximateNumberOfMessages',
      'QueueArn',
    );
    const received = await aws(
      'sqs',
      'receive-message',
      '--queue-url',
      queueUrl,
      '--attribute-names',
      'All',
      '--message-attribute-names',
      'All',
      '--wait-time-seconds',
      '1',
    );
    const [message] = received.json.Messages as {
      Body: string;
      ReceiptHandle: string;
      MessageId: string;
      Attributes: Record<string, string>;
      MessageAttributes: Record<string, unknown>;
    }[];
    const deleted = await aws(
      'sqs',
      'delete-message',
      '--queue-url',
      queueUrl,
      '--receipt-handle',
      message?.ReceiptHandle ?? '',
    );
    const empty = await aws('sqs', 'receive-message', '--queue-url', queueUrl);
    const dlqUrl = await aws('sqs', 'get-queue-url', '--queue-name', ENRICH_DEAD_LETTERS);
    const missing = await aws('sqs', 'get-queue-url', '--queue-name', 'no-such-queue');

    expect(created.code).toBe(0);
    expect(queueUrl).toBe(`${t.cloud.edgeUrl}/000000000000/cli-queue`);
    expect(sent.json).toMatchObject({
      MessageId: expect.any(String),
      MD5OfMessageAttributes: expect.any(String),
    });
    expect(attributes.json).toEqual({
      Attributes: { ApproximateNumberOfMessages: '1', QueueArn: localArns.queue('cli-queue') },
    });
    expect(message).toMatchObject({
      MessageId: sent.json.MessageId,
      Body: 'hello <cli> & co',
      Attributes: { ApproximateReceiveCount: '1' },
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'greeting' } },
    });
    expect(deleted.code).toBe(0);
    expect(empty.json.Messages ?? []).toEqual([]);
    expect(dlqUrl.json.QueueUrl).toBe(`${t.cloud.edgeUrl}/000000000000/${ENRICH_DEAD_LETTERS}`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('AWS.SimpleQueueService.NonExistentQueue');
  });
});
