import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DeleteArchiveCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  DescribeReplayCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListArchivesCommand,
  ListEventBusesCommand,
  ListReplaysCommand,
  ListRuleNamesByTargetCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  StartReplayCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateArchiveCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import recorded from '../fixtures/aws-answers/localstack-events.json' with { type: 'json' };
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
let client: EventBridgeClient;
const websocket = buses.websocket.name;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5 });
  client = new EventBridgeClient(edgeClientConfig(t.cloud));
});
afterAll(() => t.stop());

type RecordedName = keyof typeof recorded.answers;

/** AWS's recorded error, with the placeholders of the recording replaced by this test's names. */
const recordedError = (name: RecordedName, names: Record<string, string> = {}) => {
  const { answer } = recorded.answers[name] as { answer: { Error: { Code: string; Message: string } } };
  let message = answer.Error.Message;
  for (const [placeholder, value] of Object.entries(names)) message = message.replaceAll(placeholder, value);
  return { name: answer.Error.Code, message };
};

/** The SDK's exception for a call, to compare with AWS's recorded one. */
const failure = async (call: Promise<unknown>) => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EventBridgeServiceException);
  const { name, message } = error as EventBridgeServiceException;
  return { name, message };
};

describe('event buses', () => {
  it('has the default bus beside the topology buses, described without a name', async () => {
    const listed = await client.send(new ListEventBusesCommand({}));
    const described = await client.send(new DescribeEventBusCommand({}));

    expect(listed.EventBuses?.map((bus) => bus.Name)).toEqual(
      ['default', ...Object.values(buses).map((bus) => bus.name)].sort(),
    );
    expect(described).toMatchObject({ Name: 'default', Arn: localArns.bus('default') });
    expect(described.CreationTime).toBeInstanceOf(Date);
  });

  it('creates, lists by prefix, describes and deletes a bus, and answers as AWS for the wrong ones', async () => {
    const name = 'dev-orders';
    const created = await client.send(new CreateEventBusCommand({ Name: name, Description: 'orders' }));
    const twice = await failure(client.send(new CreateEventBusCommand({ Name: name })));
    const listed = await client.send(new ListEventBusesCommand({ NamePrefix: 'dev-' }));
    const described = await client.send(new DescribeEventBusCommand({ Name: name }));
    await client.send(new DeleteEventBusCommand({ Name: name }));
    const gone = await failure(client.send(new DescribeEventBusCommand({ Name: name })));
    const deleteGone = await failure(client.send(new DeleteEventBusCommand({ Name: name })));
    const deleteDefault = await failure(client.send(new DeleteEventBusCommand({ Name: 'default' })));

    expect(created.EventBusArn).toBe(localArns.bus(name));
    expect(twice).toEqual(recordedError('create-bus-twice', { '<bus-name>': name }));
    expect(listed.EventBuses?.map((bus) => bus.Name)).toEqual([name]);
    expect(described).toMatchObject({ Name: name, Description: 'orders' });
    expect(gone).toEqual(recordedError('describe-unknown-bus', { '<bus-name>': name }));
    expect(deleteGone).toEqual(recordedError('delete-unknown-bus', { '<bus-name>': name }));
    expect(deleteDefault).toEqual(recordedError('delete-default-bus'));
  });

  it('pages the bus list with Limit and NextToken', async () => {
    for (const n of [0, 1, 2, 3]) await client.send(new CreateEventBusCommand({ Name: `paged-${n}` }));

    const first = await client.send(new ListEventBusesCommand({ NamePrefix: 'paged-', Limit: 3 }));
    const second = await client.send(
      new ListEventBusesCommand({ NamePrefix: 'paged-', Limit: 3, NextToken: first.NextToken }),
    );

    expect(first.EventBuses?.map((bus) => bus.Name)).toEqual(['paged-0', 'paged-1', 'paged-2']);
    expect(second.EventBuses?.map((bus) => bus.Name)).toEqual(['paged-3']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('PutEvents', () => {
  it('accepts an entry for a bus that does not exist, as AWS does, and delivers only the others', async () => {
    await client.send(
      new PutRuleCommand({ Name: 'on-default', EventPattern: '{"source":["test.default-bus"]}' }),
    );
    await client.send(
      new PutTargetsCommand({ Rule: 'on-default', Targets: [{ Id: 'ws', Arn: localArns.bus(websocket) }] }),
    );

    const put = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'test.default-bus', DetailType: 'T', Detail: '{"to":"default"}' },
          {
            EventBusName: 'no-such-bus',
            Source: 'test.default-bus',
            DetailType: 'T',
            Detail: '{"to":"none"}',
          },
        ],
      }),
    );
    const delivered = await waitFor(
      () => t.busEvents.find((e) => e.bus === websocket && e.event.source === 'test.default-bus'),
      'the default bus event on the websocket bus',
    );

    const { answer } = recorded.answers['put-events-unknown-bus'];
    expect(put.FailedEntryCount).toBe(answer.FailedEntryCount);
    expect(put.Entries?.map((entry) => Object.keys(entry))).toEqual(
      answer.Entries.map((entry) => Object.keys(entry)),
    );
    expect(delivered.event.detail).toEqual({ to: 'default' });
    expect(t.busEvents.filter((e) => e.event.source === 'test.default-bus').map((e) => e.bus)).toEqual([
      'default',
      websocket,
    ]);
  });

  it('refuses more than ten entries with the whole request in the message, as AWS words it', async () => {
    const bus = 'eleven-entries';
    await client.send(new CreateEventBusCommand({ Name: bus }));
    const entry = {
      Source: 'core.update-account-command',
      DetailType: 'core.update-account-command',
      // As the recording's Python client serialised it: EventBridge echoes the text as sent.
      Detail: '{"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}',
      EventBusName: bus,
    };

    const error = await failure(client.send(new PutEventsCommand({ Entries: Array(11).fill(entry) })));

    expect(error).toEqual(recordedError('put-events-eleven-entries', { '<bus-name>': bus }));
  });
});

describe('rules and targets', () => {
  it('refuses an invalid target Id for the whole call with the member path, adding nothing', async () => {
    const rule = 'id-checks';
    await client.send(new PutRuleCommand({ Name: rule, EventPattern: '{"source":["x"]}' }));
    const target = (Id: string) => ({ Id, Arn: localArns.bus(websocket), InputPath: '$.detail' });
    const longId = `${crypto.randomUUID()}-${crypto.randomUUID()}-extra`;

    const badChars = await failure(
      client.send(new PutTargetsCommand({ Rule: rule, Targets: [target('!@#$@!#$')] })),
    );
    const tooLong = await failure(
      client.send(new PutTargetsCommand({ Rule: rule, Targets: [target(longId)] })),
    );
    const mixed = await failure(
      client.send(new PutTargetsCommand({ Rule: rule, Targets: [target('fine'), target('!@#$@!#$')] })),
    );
    const listed = await client.send(new ListTargetsByRuleCommand({ Rule: rule }));

    expect(badChars).toEqual(recordedError('put-targets-invalid-id'));
    expect(tooLong).toEqual(recordedError('put-targets-id-too-long', { 'second-invalid-target-id': longId }));
    expect(mixed.message).toContain("at 'targets.2.member.id'");
    expect(listed.Targets).toEqual([]);
  });

  it('refuses an invalid input transformer with a ValidationException, not a failed entry', async () => {
    await client.send(new PutRuleCommand({ Name: 'bad-transformer', EventPattern: '{"source":["x"]}' }));

    const error = await failure(
      client.send(
        new PutTargetsCommand({
          Rule: 'bad-transformer',
          Targets: [
            {
              Id: 't',
              Arn: localArns.bus(websocket),
              InputTransformer: { InputPathsMap: { a: '$.detail' }, InputTemplate: '{"a": <a>' },
            },
          ],
        }),
      ),
    );

    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/InputTemplate .*is not a valid JSON text/);
  });

  it.each([
    ['pattern-not-json', 'this is valid json but not a dict'],
    ['pattern-single-quotes', "{'bad': 'quotation'}"],
    ['pattern-unquoted-token', '{"not": closed mark"'],
  ] as const)('words a malformed pattern as AWS does (%s)', async (name, pattern) => {
    const error = await failure(
      client.send(new PutRuleCommand({ Name: 'malformed', EventPattern: pattern })),
    );

    expect(error).toEqual(recordedError(name));
  });

  it('lists the rules that send to a target', async () => {
    const arn = localArns.bus(websocket);

    const topology = await client.send(
      new ListRuleNamesByTargetCommand({ TargetArn: arn, EventBusName: buses.telemetry.name }),
    );
    const none = await client.send(
      new ListRuleNamesByTargetCommand({
        TargetArn: localArns.bus('nowhere'),
        EventBusName: buses.telemetry.name,
      }),
    );

    expect(topology.RuleNames).toEqual(['to-websocket']);
    expect(none.RuleNames).toEqual([]);
  });
});

describe('archives and replays', () => {
  const bus = 'archived-orders';
  const busArn = localArns.bus(bus);
  const archiveArn = (name: string) => `arn:aws:events:us-east-1:000000000000:archive/${name}`;

  it('creates, describes, lists, updates and deletes an archive that keeps the matching events', async () => {
    await client.send(new CreateEventBusCommand({ Name: bus }));
    const created = await client.send(
      new CreateArchiveCommand({
        ArchiveName: 'orders',
        EventSourceArn: busArn,
        EventPattern: '{"source":["orders"]}',
        Description: 'orders only',
        RetentionDays: 1,
      }),
    );
    await client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: bus, Source: 'orders', DetailType: 'T', Detail: '{"n":1}' },
          { EventBusName: bus, Source: 'other', DetailType: 'T', Detail: '{"n":2}' },
        ],
      }),
    );
    const described = await client.send(new DescribeArchiveCommand({ ArchiveName: 'orders' }));
    const listed = await client.send(new ListArchivesCommand({ EventSourceArn: busArn }));
    const updated = await client.send(new UpdateArchiveCommand({ ArchiveName: 'orders', RetentionDays: 7 }));
    const nothing = await failure(client.send(new UpdateArchiveCommand({ ArchiveName: 'orders' })));
    const twice = await failure(
      client.send(new CreateArchiveCommand({ ArchiveName: 'orders', EventSourceArn: busArn })),
    );
    const noBus = await failure(
      client.send(new CreateArchiveCommand({ ArchiveName: 'x', EventSourceArn: localArns.bus('nope') })),
    );

    expect(created).toMatchObject({ ArchiveArn: archiveArn('orders'), State: 'ENABLED' });
    expect(described).toMatchObject({
      ArchiveName: 'orders',
      EventSourceArn: busArn,
      EventPattern: '{"source":["orders"]}',
      Description: 'orders only',
      RetentionDays: 1,
      EventCount: 1,
      State: 'ENABLED',
    });
    expect(described.SizeBytes).toBeGreaterThan(0);
    expect(listed.Archives?.map((a) => [a.ArchiveName, a.EventCount])).toEqual([['orders', 1]]);
    expect(updated.ArchiveArn).toBe(archiveArn('orders'));
    expect(nothing).toEqual(recordedError('update-archive-nothing'));
    expect(twice).toEqual(recordedError('create-archive-twice', { '<archive-name>': 'orders' }));
    expect(noBus).toEqual(recordedError('create-archive-unknown-bus', { '<event-bus-name>': 'nope' }));
  });

  it('replays a time range to the bus rules, describes and lists the replay, and refuses as AWS does', async () => {
    await client.send(new CreateArchiveCommand({ ArchiveName: 'replayable', EventSourceArn: busArn }));
    await client.send(
      new PutRuleCommand({ Name: 'to-ws', EventBusName: bus, EventPattern: '{"source":["r"]}' }),
    );
    await client.send(
      new PutTargetsCommand({
        Rule: 'to-ws',
        EventBusName: bus,
        Targets: [{ Id: 'ws', Arn: localArns.bus(websocket) }],
      }),
    );
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
    await client.send(
      new PutEventsCommand({
        Entries: [0, 10, 20].map((minute) => ({
          EventBusName: bus,
          Source: 'r',
          DetailType: 'T',
          Detail: JSON.stringify({ minute }),
          Time: at(minute),
        })),
      }),
    );
    await waitFor(
      () => t.busEvents.filter((e) => e.bus === websocket && e.event.source === 'r').length === 3,
      'first deliveries',
    );
    const start = (
      ReplayName: string,
      from = at(5),
      to = at(15),
      EventSourceArn = archiveArn('replayable'),
      destination = busArn,
    ) =>
      client.send(
        new StartReplayCommand({
          ReplayName,
          EventSourceArn,
          EventStartTime: from,
          EventEndTime: to,
          Destination: { Arn: destination },
        }),
      );

    const started = await start('first');
    const done = await waitFor(async () => {
      const replay = await client.send(new DescribeReplayCommand({ ReplayName: 'first' }));
      return replay.State === 'COMPLETED' ? replay : undefined;
    }, 'the completed replay');
    const replayed = await waitFor(() => {
      const seen = t.busEvents.filter((e) => e.bus === websocket && e.event['replay-name'] === 'first');
      return seen.length > 0 ? seen : undefined;
    }, 'the replayed event');
    const listed = await client.send(new ListReplaysCommand({ NamePrefix: 'fir' }));
    const errors = {
      twice: await failure(start('first')),
      noArchive: await failure(start('x', at(5), at(15), archiveArn('missing'))),
      backwards: await failure(start('y', at(15), at(5))),
      crossBus: await failure(start('z', at(5), at(15), archiveArn('replayable'), localArns.bus(websocket))),
      unknown: await failure(client.send(new DescribeReplayCommand({ ReplayName: 'missing' }))),
    };

    expect(started).toMatchObject({
      ReplayArn: 'arn:aws:events:us-east-1:000000000000:replay/first',
      State: 'STARTING',
    });
    expect(done).toMatchObject({ EventSourceArn: archiveArn('replayable'), Destination: { Arn: busArn } });
    expect(replayed.map((e) => e.event.detail)).toEqual([{ minute: 10 }]);
    expect(listed.Replays?.map((r) => [r.ReplayName, r.State])).toEqual([['first', 'COMPLETED']]);
    expect(errors).toEqual({
      twice: recordedError('start-replay-twice', { '<replay-name>': 'first' }),
      noArchive: recordedError('start-replay-unknown-archive', { '<archive-name>': 'missing' }),
      backwards: recordedError('start-replay-end-before-start'),
      crossBus: recordedError('start-replay-cross-bus'),
      unknown: recordedError('describe-unknown-replay', { '<replay-name>': 'missing' }),
    });
  });

  it('deletes an archive, after which it is not found', async () => {
    await client.send(new DeleteArchiveCommand({ ArchiveName: 'orders' }));

    const gone = await failure(client.send(new DescribeArchiveCommand({ ArchiveName: 'orders' })));
    const deleteGone = await failure(client.send(new DeleteArchiveCommand({ ArchiveName: 'orders' })));

    expect(gone).toEqual(recordedError('describe-unknown-archive', { '<archive-name>': 'orders' }));
    expect(deleteGone).toEqual(recordedError('delete-unknown-archive', { '<archive-name>': 'orders' }));
  });
});

describe('tags', () => {
  it('tags, lists and untags a bus and a rule; a deleted rule or bus has none to list', async () => {
    await client.send(
      new CreateEventBusCommand({ Name: 'tagged', Tags: [{ Key: 'team', Value: 'sensors' }] }),
    );
    const { RuleArn } = await client.send(
      new PutRuleCommand({
        Name: 'tagged-rule',
        EventBusName: 'tagged',
        EventPattern: '{"source":["x"]}',
        Tags: [{ Key: 'tag1', Value: 'value1' }],
      }),
    );
    const busArn = localArns.bus('tagged');
    await client.send(
      new TagResourceCommand({ ResourceARN: RuleArn, Tags: [{ Key: 'tag2', Value: 'value2' }] }),
    );
    await client.send(new UntagResourceCommand({ ResourceARN: RuleArn, TagKeys: ['tag2'] }));
    const ruleTags = await client.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn }));
    const busTags = await client.send(new ListTagsForResourceCommand({ ResourceARN: busArn }));
    await client.send(new DeleteRuleCommand({ Name: 'tagged-rule', EventBusName: 'tagged' }));
    const deletedRule = await failure(client.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn })));
    await client.send(new DeleteEventBusCommand({ Name: 'tagged' }));
    const deletedBus = await failure(client.send(new ListTagsForResourceCommand({ ResourceARN: busArn })));

    expect(RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/tagged/tagged-rule');
    expect(ruleTags.Tags).toEqual(recorded.answers['list-tags-after-untag'].answer.Tags);
    expect(busTags.Tags).toEqual([{ Key: 'team', Value: 'sensors' }]);
    expect(deletedRule).toEqual(
      recordedError('list-tags-deleted-rule', { '<rule_name>': 'tagged-rule', '<bus_name>': 'tagged' }),
    );
    expect(deletedBus).toEqual(recordedError('list-tags-deleted-bus', { '<bus_name>': 'tagged' }));
  });

  it('names a rule on the default bus without the bus in its ARN', async () => {
    const { RuleArn } = await client.send(
      new PutRuleCommand({ Name: 'plain', EventPattern: '{"source":["x"]}' }),
    );
    await client.send(new TagResourceCommand({ ResourceARN: RuleArn, Tags: [{ Key: 'k', Value: 'v' }] }));
    await client.send(new RemoveTargetsCommand({ Rule: 'plain', Ids: ['none'] }));

    const tags = await client.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn }));

    expect(RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/plain');
    expect(tags.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });
});
