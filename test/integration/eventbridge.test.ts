import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  ListRulesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { replayArchive } from '../../local-cloud/launcher/cli/events-admin.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
let client: EventBridgeClient;
let sqs: SQSClient;
const telemetry = buses.telemetry.name;
const websocket = buses.websocket.name;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5 });
  client = new EventBridgeClient(edgeClientConfig(t.cloud));
  sqs = new SQSClient(edgeClientConfig(t.cloud));
});
afterAll(() => t.stop());

const putEvent = (source: string, detail: Record<string, unknown>, bus = telemetry) =>
  client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: bus, Source: source, DetailType: 'Test', Detail: JSON.stringify(detail) }],
    }),
  );

const onBus = (bus: string, source: string) =>
  t.busEvents.filter((e) => e.bus === bus && e.event.source === source);

describe('the local EventBridge through the AWS SDK', () => {
  it('lists the topology rules with AWS-shaped ARNs on custom buses', async () => {
    const listed = await client.send(new ListRulesCommand({ EventBusName: telemetry }));
    const described = await client.send(new DescribeRuleCommand({ Name: 'alerts', EventBusName: telemetry }));

    expect(listed.Rules?.map((r) => r.Name)).toEqual(['alert-history', 'alerts', 'enrich', 'to-websocket']);
    expect(described.Arn).toBe(`arn:aws:events:us-east-1:000000000000:rule/${telemetry}/alerts`);
    expect(JSON.parse(described.EventPattern ?? '{}')).toEqual({
      source: ['sensorbus.enrichment'],
      'detail-type': ['AlertRaised', 'AlertAcknowledged', 'AlertSnoozed', 'AlertEscalated', 'AlertResolved'],
    });
  });

  it('raises the same typed exceptions as AWS', async () => {
    await expect(
      client.send(new DescribeRuleCommand({ Name: 'nope', EventBusName: telemetry })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    const invalid = client.send(
      new PutRuleCommand({ Name: 'bad', EventBusName: telemetry, EventPattern: '{"source":[{"wrong":1}]}' }),
    );
    await expect(invalid).rejects.toBeInstanceOf(InvalidEventPatternException);
    await expect(invalid).rejects.toThrow(
      /Event pattern is not valid. Reason: Unrecognized match type wrong/,
    );
  });

  it('answers TestEventPattern as AWS does', async () => {
    const event = JSON.stringify({
      id: '1',
      account: '000000000000',
      source: 'sensorbus.ingest',
      time: '2026-11-23T10:00:00Z',
      region: 'us-east-1',
      'detail-type': 'ReadingRecorded',
      detail: { data: { metrics: { temperature: 31 } } },
    });
    const yes = await client.send(
      new TestEventPatternCommand({
        Event: event,
        EventPattern: '{"detail":{"data":{"metrics":{"temperature":[{"numeric":[">",30]}]}}}}',
      }),
    );
    const no = await client.send(
      new TestEventPatternCommand({ Event: event, EventPattern: '{"source":[{"prefix":"other"}]}' }),
    );
    expect([yes.Result, no.Result]).toEqual([true, false]);
  });

  it('rejects oversized and over-long PutEvents as AWS does, and reports bad entries one by one', async () => {
    const tooMany = client.send(
      new PutEventsCommand({
        Entries: Array.from({ length: 11 }, () => ({
          EventBusName: telemetry,
          Source: 's',
          DetailType: 'd',
          Detail: '{}',
        })),
      }),
    );
    await expect(tooMany).rejects.toThrow(/less than or equal to 10/);
    const tooBig = client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: telemetry,
            Source: 's',
            DetailType: 'd',
            Detail: JSON.stringify({ x: 'x'.repeat(257 * 1024) }),
          },
        ],
      }),
    );
    await expect(tooBig).rejects.toThrow(/over the limit/);
    const mixed = await client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: telemetry, Source: 's', DetailType: 'd', Detail: '{}' },
          { EventBusName: telemetry, Source: 's', DetailType: 'd', Detail: 'not json' },
          { EventBusName: 'no-such-bus', Source: 's', DetailType: 'd', Detail: '{}' },
        ],
      }),
    );
    expect(mixed.FailedEntryCount).toBe(1);
    expect(mixed.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'ok']);
  });

  it('lets a developer add a rule and target at runtime and see it deliver, then remove it', async () => {
    await client.send(
      new PutRuleCommand({
        Name: 'try-me',
        EventBusName: telemetry,
        EventPattern: JSON.stringify({ source: ['test.try'], detail: { level: [{ numeric: ['>=', 3] }] } }),
      }),
    );
    await client.send(
      new PutTargetsCommand({
        Rule: 'try-me',
        EventBusName: telemetry,
        Targets: [
          {
            Id: 'to-ws',
            Arn: localArns.bus(websocket),
            InputTransformer: {
              InputPathsMap: { level: '$.detail.level' },
              InputTemplate: '{"source":"test.try.out","detail-type":"T","detail":{"lvl":<level>}}',
            },
          },
        ],
      }),
    );

    await putEvent('test.try', { level: 2 });
    await putEvent('test.try', { level: 5 });
    const delivered = await waitFor(
      () => onBus(websocket, 'test.try.out')[0],
      'the transformed event on the websocket bus',
    );

    expect(delivered.event.detail).toEqual({ lvl: 5 });
    await expect(
      client.send(new DeleteRuleCommand({ Name: 'try-me', EventBusName: telemetry })),
    ).rejects.toThrow(/has targets/);
    await client.send(new RemoveTargetsCommand({ Rule: 'try-me', EventBusName: telemetry, Ids: ['to-ws'] }));
    await client.send(new DeleteRuleCommand({ Name: 'try-me', EventBusName: telemetry }));
    await expect(
      client.send(new DescribeRuleCommand({ Name: 'try-me', EventBusName: telemetry })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('delivery', () => {
  it('forwards domain events to the websocket bus (cross-bus target)', async () => {
    await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: telemetry,
            Source: 'sensorbus.enrichment',
            DetailType: 'ReadingEnriched',
            // The to-websocket rule forwards readings only of a device a dashboard watches.
            Detail: JSON.stringify({ probe: 'unwatched', data: { watched: false } }),
          },
          {
            EventBusName: telemetry,
            Source: 'sensorbus.enrichment',
            DetailType: 'ReadingEnriched',
            Detail: JSON.stringify({ probe: 'cross-bus', data: { watched: true } }),
          },
        ],
      }),
    );
    const forwarded = await waitFor(
      () =>
        t.busEvents.find(
          (e) => e.bus === websocket && (e.event.detail as { probe?: string }).probe === 'cross-bus',
        ),
      'the forwarded event',
    );
    expect(forwarded.event['detail-type']).toBe('ReadingEnriched');
    expect(
      t.busEvents.filter(
        (e) => e.bus === websocket && (e.event.detail as { probe?: string }).probe === 'unwatched',
      ),
    ).toEqual([]);
  });

  it('retries a failing target, dead-letters the event with its error in an SQS queue, and redrive delivers it', async () => {
    const target = localArns.bus(websocket);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'test-dlq' }));
    await client.send(
      new PutRuleCommand({
        Name: 'dlq-rule',
        EventBusName: telemetry,
        EventPattern: '{"source":["test.dlq"]}',
      }),
    );
    await client.send(
      new PutTargetsCommand({
        Rule: 'dlq-rule',
        EventBusName: telemetry,
        Targets: [
          {
            Id: 'ws',
            Arn: target,
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: localArns.queue('test-dlq') },
          },
        ],
      }),
    );
    t.cloud.faults.inject({ service: 'target', operation: target, mode: 'error' });

    await putEvent('test.dlq', { n: 1 });
    const [letter] = await waitFor(() => {
      const letters = t.cloud.events.deadLetters.list('test-dlq');
      return letters.length > 0 ? letters : undefined;
    }, 'the dead letter');
    t.cloud.faults.clear();
    const { Messages: [received] = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
    );

    expect(JSON.parse(received?.Body ?? '{}')).toMatchObject({ source: 'test.dlq', detail: { n: 1 } });
    expect(received?.MessageAttributes).toMatchObject({
      RULE_ARN: {
        DataType: 'String',
        StringValue: `arn:aws:events:us-east-1:000000000000:rule/${telemetry}/dlq-rule`,
      },
      TARGET_ARN: { DataType: 'String', StringValue: target },
      RETRY_ATTEMPTS: { DataType: 'Number', StringValue: '3' },
    });
    expect(letter?.attributes).toMatchObject({
      RULE_ARN: `arn:aws:events:us-east-1:000000000000:rule/${telemetry}/dlq-rule`,
      TARGET_ARN: target,
      ERROR_CODE: 'InjectedTargetFailure',
      RETRY_ATTEMPTS: 3,
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
    });
    expect(onBus(websocket, 'test.dlq')).toHaveLength(0);

    const redrive = await t.cloud.events.redrive('test-dlq');
    expect(redrive).toEqual({ redriven: 1, failed: 0 });
    expect(onBus(websocket, 'test.dlq')).toHaveLength(1);
    expect(t.cloud.events.deadLetters.list('test-dlq')).toHaveLength(0);
  });

  it('replays a time range from the archive to the rules with StartReplay (as `npm run events -- replay` does), marked with replay-name', async () => {
    await client.send(
      new PutRuleCommand({
        Name: 'replay-rule',
        EventBusName: telemetry,
        EventPattern: '{"source":["test.replay"]}',
      }),
    );
    await client.send(
      new PutTargetsCommand({
        Rule: 'replay-rule',
        EventBusName: telemetry,
        Targets: [{ Id: 'ws', Arn: localArns.bus(websocket) }],
      }),
    );
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
    for (const minute of [0, 10, 20, 30]) {
      await client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: telemetry,
              Source: 'test.replay',
              DetailType: 'T',
              Detail: JSON.stringify({ minute }),
              Time: at(minute),
            },
          ],
        }),
      );
    }
    await waitFor(() => onBus(websocket, 'test.replay').length === 4, 'first deliveries');

    const replayed = await replayArchive(t.cloud, {
      busName: telemetry,
      from: at(5),
      to: at(20),
      rules: ['replay-rule'],
    });
    await waitFor(() => onBus(websocket, 'test.replay').length === 6, 'replayed deliveries');

    expect(replayed.State).toBe('COMPLETED');
    const again = onBus(websocket, 'test.replay').slice(4);
    expect(again.map((e) => [e.event.detail.minute, e.event['replay-name']])).toEqual([
      [10, replayed.ReplayName],
      [20, replayed.ReplayName],
    ]);
    expect(t.cloud.events.archived(telemetry).filter((a) => a.event.source === 'test.replay')).toHaveLength(
      4,
    );
  });
});
