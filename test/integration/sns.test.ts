import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  InvalidParameterException,
  InvalidParameterValueException,
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  ListTopicsCommand,
  NotFoundException,
  PublishBatchCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
  type SubscribeCommandInput,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../local-cloud/emulators/shared/aws-protocol.ts';
import { LocalSns, type LocalSnsOptions } from '../../local-cloud/emulators/sns/service.ts';
import { LocalSqs } from '../../local-cloud/emulators/sqs/sqs.ts';
import recordedSns from '../fixtures/aws-answers/localstack-sns.json' with { type: 'json' };
import { waitFor } from '../support/local-cloud.ts';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** Short retry delays keep the failing-endpoint test quick; the count is what the test checks. */
const RETRY_DELAYS_MS = [0, 0, 0, 5, 10];

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

const listen = async (handler: RequestListener): Promise<{ server: Server; url: string }> => {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const stop = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** The edge's part, as the local cloud does it: a POST's form body or a GET's query go to `handle`. */
const snsFront = (sns: () => LocalSns): RequestListener => {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const params =
      req.method === 'POST'
        ? readBody(req).then((body) => new URLSearchParams(body.toString('utf8')))
        : Promise.resolve(url.searchParams);
    params
      .then((query) => sns().handle(query))
      .then((answer) => {
        res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
      })
      .catch(() => res.writeHead(500).end());
  };
};

const parseEml = (text: string) => {
  const split = text.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of text.slice(0, split).split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: text.slice(split + 4) };
};

let dataDir: string;
let sns: LocalSns;
let front: { server: Server; url: string };
let receiver: { server: Server; url: string };
let client: SNSClient;
const received: Received[] = [];

const makeSns = (options: Partial<LocalSnsOptions> = {}) =>
  new LocalSns({
    region: REGION,
    accountId: ACCOUNT,
    dataDir,
    publicUrl: () => front.url,
    topics: ['sensorbus-alerts'],
    retryDelaysMs: RETRY_DELAYS_MS,
    ...options,
  });

const sdkClient = (endpoint: string, maxAttempts?: number) =>
  new SNSClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...(maxAttempts ? { maxAttempts } : {}),
  });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-sns-'));
  front = await listen(snsFront(() => sns));
  sns = makeSns();
  receiver = await listen((req, res) => {
    readBody(req).then((body) => {
      const text = body.toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = {};
      }
      received.push({ path: req.url ?? '/', headers: req.headers, body: text, json });
      res.writeHead(req.url?.startsWith('/fail') ? 500 : 200).end();
    });
  });
  client = sdkClient(front.url);
});

afterAll(async () => {
  client.destroy();
  await sns.close();
  await stop(front.server);
  await stop(receiver.server);
  rmSync(dataDir, { recursive: true, force: true });
});

let topicCount = 0;
const newTopic = async (prefix = 'topic') => {
  topicCount += 1;
  const { TopicArn } = await client.send(new CreateTopicCommand({ Name: `${prefix}-${topicCount}` }));
  return TopicArn as string;
};

const mailTo = (to: string, topicArn: string) =>
  sns.mail().filter((mail) => mail.to === to && mail.topicArn === topicArn);

const at = (path: string, type?: string) =>
  received.filter(
    (r) => r.path === path && (type === undefined || r.headers['x-amz-sns-message-type'] === type),
  );

describe('topics', () => {
  it('creates topics idempotently and lists them with those created at start', async () => {
    const first = await client.send(new CreateTopicCommand({ Name: 'readings-digest' }));
    const again = await client.send(new CreateTopicCommand({ Name: 'readings-digest' }));
    const listed = await client.send(new ListTopicsCommand({}));

    expect(first.TopicArn).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:readings-digest`);
    expect(again.TopicArn).toBe(first.TopicArn);
    const arns = listed.Topics?.map((topic) => topic.TopicArn);
    expect(arns).toContain(sns.topicArn('sensorbus-alerts'));
    expect(arns?.filter((arn) => arn === first.TopicArn)).toHaveLength(1);
  });

  it('refuses invalid topic names and a different set of attributes for an existing topic', async () => {
    await client.send(new CreateTopicCommand({ Name: 'shown', Attributes: { DisplayName: 'Alerts' } }));

    await expect(client.send(new CreateTopicCommand({ Name: 'bad name!' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Topic Name',
    });
    await expect(
      client.send(new CreateTopicCommand({ Name: 'shown', Attributes: { DisplayName: 'Other' } })),
    ).rejects.toThrow('Invalid parameter: Attributes Reason: Topic already exists with different attributes');
  });
});

describe('email', () => {
  it('writes the confirmation email, confirms, then delivers each publish as an .eml file', async () => {
    const topicArn = await newTopic('email');
    const to = 'ops@example.com';

    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: to }),
    );
    const { MessageId } = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'AlertRaised (critical): dev-1',
        Message: 'AlertRaised for device dev-1: temperature 81.2 above 80 — übertemperatur',
      }),
    );
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'no subject here' }));

    expect(SubscriptionArn).toMatch(new RegExp(`^${topicArn}:[0-9a-f-]{36}$`));
    const [confirmation, ...notifications] = await waitFor(
      () => mailTo(to, topicArn).length === 3 && mailTo(to, topicArn),
      'three emails',
    );
    const alert = notifications.find((mail) => mail.messageId === MessageId);
    const plain = notifications.find((mail) => mail.messageId !== MessageId);
    expect(confirmation?.subject).toBe('AWS Notification - Subscription Confirmation');
    expect(confirmation?.body).toContain(
      `${front.url}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=`,
    );
    expect(alert?.subject).toBe('AlertRaised (critical): dev-1');
    expect(plain?.subject).toBe('AWS Notification Message');

    const eml = parseEml(readFileSync(alert?.file ?? '', 'utf8'));
    expect(alert?.file?.startsWith(join(dataDir, 'mail'))).toBe(true);
    expect(alert?.file).toMatch(/\.eml$/);
    expect(eml.headers.get('from')).toBe('"AWS Notifications" <no-reply@sns.amazonaws.com>');
    expect(eml.headers.get('to')).toBe(to);
    expect(eml.headers.get('subject')).toBe('AlertRaised (critical): dev-1');
    expect(Number.isNaN(Date.parse(eml.headers.get('date') ?? ''))).toBe(false);
    expect(eml.headers.get('message-id')).toMatch(/^<.+@.+>$/);
    expect(eml.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(eml.body).toContain('temperature 81.2 above 80 — übertemperatur');
    expect(eml.body).toContain(
      `If you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\r\n${front.url}/?Action=Unsubscribe&SubscriptionArn=${SubscriptionArn}`,
    );
  });

  it('sends lines longer than a mail line allows as quoted-printable', async () => {
    const topicArn = await newTopic('long');
    await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: 'long@example.com' }),
    );

    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'x'.repeat(5000) }));

    const [, mail] = await waitFor(
      () => mailTo('long@example.com', topicArn).length === 2 && mailTo('long@example.com', topicArn),
      'the email',
    );
    const eml = parseEml(readFileSync(mail?.file ?? '', 'utf8'));
    expect(eml.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(eml.body.split('\r\n').every((line) => line.length <= 76)).toBe(true);
    expect(mail?.body).toContain('x'.repeat(5000));
  });

  it('delivers only the messages a deviceId filter policy matches', async () => {
    const topicArn = await newTopic('filtered');
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'email',
        Endpoint: 'dev1@example.com',
        Attributes: { FilterPolicy: JSON.stringify({ deviceId: ['dev-1'] }) },
      }),
    );
    await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: 'all@example.com' }),
    );
    const publish = (deviceId: string) =>
      client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: `alert for ${deviceId}`,
          MessageAttributes: {
            deviceId: { DataType: 'String', StringValue: deviceId },
            severity: { DataType: 'String', StringValue: 'critical' },
          },
        }),
      );

    await publish('dev-2');
    await publish('dev-1');
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'no attributes at all' }));
    await sns.idle();

    const bodies = (to: string) =>
      mailTo(to, topicArn)
        .slice(1)
        .map((mail) => mail.body.split('\n')[0])
        .sort();
    expect(bodies('dev1@example.com')).toEqual(['alert for dev-1']);
    expect(bodies('all@example.com')).toEqual(['alert for dev-1', 'alert for dev-2', 'no attributes at all']);
    const attributes = await client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }));
    expect(attributes.Attributes).toMatchObject({
      FilterPolicy: '{"deviceId":["dev-1"]}',
      FilterPolicyScope: 'MessageAttributes',
      PendingConfirmation: 'false',
      Protocol: 'email',
      Endpoint: 'dev1@example.com',
      TopicArn: topicArn,
    });
  });

  it('filters on the message body once the scope is MessageBody, and follows policy changes', async () => {
    const topicArn = await newTopic('body-filter');
    const to = 'body@example.com';
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'email',
        Endpoint: to,
        ReturnSubscriptionArn: true,
        Attributes: {
          FilterPolicyScope: 'MessageBody',
          FilterPolicy: JSON.stringify({ data: { severity: ['critical'] } }),
        },
      }),
    );
    const publish = (severity: string) =>
      client.send(
        new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify({ data: { severity } }) }),
      );

    await publish('warning');
    await publish('critical');
    await client.send(
      new SetSubscriptionAttributesCommand({
        SubscriptionArn,
        AttributeName: 'FilterPolicy',
        AttributeValue: JSON.stringify({ data: { severity: ['warning'] } }),
      }),
    );
    await publish('warning');
    await sns.idle();

    expect(
      mailTo(to, topicArn)
        .slice(1)
        .map((mail) => JSON.parse(mail.body.split('\n')[0] ?? '').data.severity)
        .sort(),
    ).toEqual(['critical', 'warning']);
    await expect(
      client.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn,
          AttributeName: 'FilterPolicyScope',
          AttributeValue: 'MessageAttributes',
        }),
      ),
    ).rejects.toThrow(
      'Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy',
    );
  });

  it('gives each protocol its own text with MessageStructure=json', async () => {
    const topicArn = await newTopic('structured');
    await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: 's@example.com' }),
    );

    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        MessageStructure: 'json',
        Message: JSON.stringify({ default: 'for everyone', email: 'for email readers' }),
      }),
    );

    const [, mail] = await waitFor(
      () => mailTo('s@example.com', topicArn).length === 2 && mailTo('s@example.com', topicArn),
      'the email',
    );
    expect(mail?.body.startsWith('for email readers\n')).toBe(true);
  });
});

describe('http/https', () => {
  it('confirms through the SubscribeURL, then POSTs notifications in SNS envelopes with SNS headers', async () => {
    const topicArn = await newTopic('webhook');
    const endpoint = `${receiver.url}/hook`;

    const subscribed = await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: endpoint }),
    );
    const confirmation = await waitFor(
      () => at('/hook', 'SubscriptionConfirmation')[0],
      'the confirmation POST',
    );
    const pending = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'before confirmation' }));
    await sns.idle();
    const confirmed = await fetch(String(confirmation.json.SubscribeURL));
    const confirmedXml = await confirmed.text();
    const { MessageId } = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'AlertRaised',
        Message: 'temperature above 80',
        MessageAttributes: {
          deviceId: { DataType: 'String', StringValue: 'dev-1' },
          reading: { DataType: 'Number', StringValue: '81.2' },
          raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    const notification = await waitFor(() => at('/hook', 'Notification')[0], 'the notification POST');

    expect(subscribed.SubscriptionArn).toBe('pending confirmation');
    expect(pending.Subscriptions).toEqual([
      {
        TopicArn: topicArn,
        Protocol: 'http',
        SubscriptionArn: 'PendingConfirmation',
        Owner: ACCOUNT,
        Endpoint: endpoint,
      },
    ]);
    expect(confirmation.headers).toMatchObject({
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'SubscriptionConfirmation',
      'x-amz-sns-message-id': confirmation.json.MessageId,
      'x-amz-sns-topic-arn': topicArn,
    });
    expect(confirmation.json).toMatchObject({
      Type: 'SubscriptionConfirmation',
      TopicArn: topicArn,
      Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${front.url}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${confirmation.json.Token}`,
      SignatureVersion: '1',
    });
    expect(Object.keys(confirmation.json)).toEqual([
      'Type',
      'MessageId',
      'Token',
      'TopicArn',
      'Message',
      'SubscribeURL',
      'Timestamp',
      'SignatureVersion',
      'Signature',
      'SigningCertURL',
    ]);
    expect(confirmed.status).toBe(200);
    const subscriptionArn = /<SubscriptionArn>(.+)<\/SubscriptionArn>/.exec(confirmedXml)?.[1];
    expect(subscriptionArn).toMatch(new RegExp(`^${topicArn}:`));
    expect(at('/hook', 'Notification')).toHaveLength(1);
    expect(notification.headers).toMatchObject({
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': MessageId,
      'x-amz-sns-topic-arn': topicArn,
      'x-amz-sns-subscription-arn': subscriptionArn,
    });
    expect(notification.json).toEqual({
      Type: 'Notification',
      MessageId,
      TopicArn: topicArn,
      Subject: 'AlertRaised',
      Message: 'temperature above 80',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SignatureVersion: '1',
      Signature: expect.any(String),
      SigningCertURL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/.+\.pem$/),
      UnsubscribeURL: `${front.url}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
      MessageAttributes: {
        deviceId: { Type: 'String', Value: 'dev-1' },
        reading: { Type: 'Number', Value: '81.2' },
        raw: { Type: 'Binary', Value: 'AQID' },
      },
    });
  });

  it('confirms with ConfirmSubscription and refuses a token it did not send', async () => {
    const topicArn = await newTopic('confirm');
    const endpoint = `${receiver.url}/confirm-by-api`;
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'http',
        Endpoint: endpoint,
        ReturnSubscriptionArn: true,
      }),
    );
    const { json } = await waitFor(
      () => at('/confirm-by-api', 'SubscriptionConfirmation')[0],
      'the confirmation',
    );

    await expect(
      client.send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: 'not-a-token' })),
    ).rejects.toThrow(InvalidParameterException);
    const confirmed = await client.send(
      new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: String(json.Token) }),
    );
    const again = await client.send(
      new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: String(json.Token) }),
    );
    const attributes = await client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }));

    expect(SubscriptionArn).toMatch(new RegExp(`^${topicArn}:`));
    expect(confirmed.SubscriptionArn).toBe(SubscriptionArn);
    expect(again.SubscriptionArn).toBe(SubscriptionArn);
    expect(attributes.Attributes?.PendingConfirmation).toBe('false');
    const everything = await client.send(new ListSubscriptionsCommand({}));
    expect(everything.Subscriptions).toContainEqual({
      TopicArn: topicArn,
      Protocol: 'http',
      SubscriptionArn,
      Owner: ACCOUNT,
      Endpoint: endpoint,
    });
  });

  it('retries a failing endpoint, then records the notification as a dead letter', async () => {
    const topicArn = await newTopic('failing');
    const path = '/fail/notifications';
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'http',
        Endpoint: `${receiver.url}${path}`,
        ReturnSubscriptionArn: true,
      }),
    );
    const { json } = await waitFor(() => at(path, 'SubscriptionConfirmation')[0], 'the confirmation');
    await client.send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: String(json.Token) }));

    const { MessageId } = await client.send(
      new PublishCommand({ TopicArn: topicArn, Message: 'nobody home' }),
    );
    const file = join(dataDir, 'dlq', `sns-${topicArn.split(':')[5]}.jsonl`);
    const letter = await waitFor(
      () =>
        existsSync(file) &&
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((record) => record.messageId === MessageId),
      'the dead letter',
    );

    const attempts = at(path, 'Notification');
    expect(attempts).toHaveLength(RETRY_DELAYS_MS.length + 1);
    expect(new Set(attempts.map((a) => a.headers['x-amz-sns-message-id']))).toEqual(new Set([MessageId]));
    expect(letter).toMatchObject({
      reason: 'retries-exhausted',
      error: 'HTTP 500',
      attempts: RETRY_DELAYS_MS.length + 1,
      topicArn,
      subscriptionArn: SubscriptionArn,
      protocol: 'http',
      type: 'Notification',
    });
    expect(JSON.parse(String(letter.body))).toMatchObject({ Type: 'Notification', Message: 'nobody home' });
    expect(sns.deadLetters().some((dead) => dead.messageId === MessageId)).toBe(true);
  });

  it('stops delivering once unsubscribed, and tells the endpoint so', async () => {
    const topicArn = await newTopic('leaving');
    const path = '/leaving';
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'http',
        Endpoint: `${receiver.url}${path}`,
        ReturnSubscriptionArn: true,
      }),
    );
    const { json } = await waitFor(() => at(path, 'SubscriptionConfirmation')[0], 'the confirmation');
    await fetch(String(json.SubscribeURL));
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'first' }));
    await waitFor(() => at(path, 'Notification').length === 1, 'the first notification');

    await client.send(new UnsubscribeCommand({ SubscriptionArn }));
    await client.send(new UnsubscribeCommand({ SubscriptionArn }));
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'second' }));
    await sns.idle();

    expect(at(path, 'Notification').map((r) => r.json.Message)).toEqual(['first']);
    expect(at(path, 'UnsubscribeConfirmation')).toHaveLength(1);
    expect(at(path, 'UnsubscribeConfirmation')[0]?.json).toMatchObject({
      Type: 'UnsubscribeConfirmation',
      Message: `You have chosen to deactivate subscription ${SubscriptionArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`,
    });
    expect(
      (await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions,
    ).toEqual([]);
    await expect(client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }))).rejects.toThrow(
      NotFoundException,
    );
  });

  it('stops email delivery once unsubscribed through the UnsubscribeURL link', async () => {
    const topicArn = await newTopic('email-leaving');
    const to = 'leaving@example.com';
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: to }),
    );
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'first' }));
    const [, first] = await waitFor(
      () => mailTo(to, topicArn).length === 2 && mailTo(to, topicArn),
      'the first email',
    );
    const link = /^(http:\/\/\S+Action=Unsubscribe\S+)$/m.exec(first?.body ?? '')?.[1];

    const unsubscribed = await fetch(String(link));
    await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'second' }));
    await sns.idle();

    expect(link).toBe(`${front.url}/?Action=Unsubscribe&SubscriptionArn=${SubscriptionArn}`);
    expect(unsubscribed.status).toBe(200);
    expect(await unsubscribed.text()).toContain('<UnsubscribeResponse');
    expect(mailTo(to, topicArn)).toHaveLength(2);
  });
});

describe('errors are the typed exceptions of the SDK', () => {
  it('answers NotFoundException for an unknown topic', async () => {
    const error = await client
      .send(new PublishCommand({ TopicArn: sns.topicArn('no-such-topic'), Message: 'hello' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toMatchObject({ message: 'Topic does not exist', $metadata: { httpStatusCode: 404 } });
    await expect(
      client.send(
        new SubscribeCommand({ TopicArn: sns.topicArn('nope'), Protocol: 'email', Endpoint: 'a@b.c' }),
      ),
    ).rejects.toThrow(NotFoundException);
  });

  it.each<{ name: string; input: Omit<SubscribeCommandInput, 'TopicArn'>; message: string }>([
    {
      name: 'a filter policy that is not JSON (recorded: test_sns.py::test_subscribe_invalid_filter_policy)',
      input: { Protocol: 'email', Endpoint: 'a@example.com', Attributes: { FilterPolicy: 'invalid' } },
      message:
        "Invalid parameter: Attributes Reason: FilterPolicy: failed to parse JSON. Unrecognized token 'invalid': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 8]",
    },
    {
      name: 'a filter policy with an unknown operator',
      input: {
        Protocol: 'email',
        Endpoint: 'a@example.com',
        Attributes: { FilterPolicy: '{"deviceId":[{"like":"x"}]}' },
      },
      message: 'Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type like',
    },
    {
      name: 'an unknown protocol',
      input: { Protocol: 'carrier-pigeon', Endpoint: 'loft' },
      message: 'Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon',
    },
    {
      name: 'a protocol the local SNS does not deliver to',
      input: { Protocol: 'sqs', Endpoint: 'arn:aws:sqs:us-east-1:000000000000:q' },
      message:
        'Invalid parameter: Protocol Reason: the local SNS delivers to email, email-json, http, https, sms only, not sqs',
    },
    {
      name: 'an email endpoint that is no address',
      input: { Protocol: 'email', Endpoint: 'not an address' },
      message: 'Invalid parameter: Email address',
    },
    {
      name: 'an http endpoint that is not an http URL',
      input: { Protocol: 'http', Endpoint: 'https://example.com/hook' },
      message: 'Invalid parameter: Endpoint must match the specified protocol',
    },
    {
      name: 'an unknown subscription attribute',
      input: { Protocol: 'email', Endpoint: 'a@example.com', Attributes: { Colour: 'blue' } },
      message: 'Invalid parameter: Attributes Reason: AttributeName',
    },
  ])('answers InvalidParameterException for $name', async ({ input, message }) => {
    const error = await client
      .send(new SubscribeCommand({ TopicArn: sns.topicArn('sensorbus-alerts'), ...input }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error).toMatchObject({ message, $metadata: { httpStatusCode: 400 } });
  });

  it.each([
    {
      name: 'a message over 256 KiB',
      input: { Message: 'x'.repeat(256 * 1024 + 1) },
      message: 'Invalid parameter: Message too long',
    },
    { name: 'an empty message', input: { Message: '' }, message: 'Invalid parameter: Empty message' },
    {
      name: 'a subject over 100 characters',
      input: { Message: 'm', Subject: 's'.repeat(101) },
      message: 'Invalid parameter: Subject',
    },
    {
      name: 'a subject with a line break',
      input: { Message: 'm', Subject: 'one\ntwo' },
      message: 'Invalid parameter: Subject',
    },
    {
      name: 'a subject that is not ASCII',
      input: { Message: 'm', Subject: 'Übertemperatur' },
      message: 'Invalid parameter: Subject',
    },
    {
      name: 'a json message without a default',
      input: { Message: '{"email":"x"}', MessageStructure: 'json' },
      message: 'Invalid parameter: Message Structure - No default entry in JSON message body',
    },
    {
      name: 'a malformed topic ARN',
      input: { Message: 'm', TopicArn: 'alerts' },
      message: 'Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1',
    },
  ])('refuses $name on Publish', async ({ input, message }) => {
    const error = await client
      .send(new PublishCommand({ TopicArn: sns.topicArn('sensorbus-alerts'), ...input }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error).toMatchObject({ message });
  });

  it('accepts a message of exactly 256 KiB, attributes included', async () => {
    const attribute = { DataType: 'String', StringValue: 'v' };
    const size = 'a'.length + attribute.DataType.length + attribute.StringValue.length;

    const published = await client.send(
      new PublishCommand({
        TopicArn: sns.topicArn('sensorbus-alerts'),
        Message: 'x'.repeat(256 * 1024 - size),
        MessageAttributes: { a: attribute },
      }),
    );

    expect(published.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers InvalidParameterValueException for a malformed message attribute', async () => {
    const error = await client
      .send(
        new PublishCommand({
          TopicArn: sns.topicArn('sensorbus-alerts'),
          Message: 'm',
          MessageAttributes: { 'device..id': { DataType: 'String', StringValue: 'dev-1' } },
        }),
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error).toMatchObject({ message: "Message attribute name can not have successive '.' character." });
  });
});

describe('lifecycle', () => {
  it('keeps topics and subscriptions across a restart on the same data directory', async () => {
    const topicArn = await newTopic('kept');
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'email',
        Endpoint: 'kept@example.com',
        Attributes: { FilterPolicy: '{"severity":["critical"]}' },
      }),
    );

    const restarted = makeSns();
    const restartedFront = await listen(snsFront(() => restarted));
    const restartedClient = sdkClient(restartedFront.url);
    const listed = await restartedClient.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    await restartedClient.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'still here',
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'critical' } },
      }),
    );
    await restarted.idle();

    expect(listed.Subscriptions?.map((s) => s.SubscriptionArn)).toEqual([SubscriptionArn]);
    expect(restarted.mail().map((mail) => mail.body.split('\n')[0])).toEqual(['still here']);
    restartedClient.destroy();
    await restarted.close();
    await stop(restartedFront.server);
  });

  it('delivers after a restart what Publish accepted before the process was killed, carrying on with the retry count', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sensorbus-sns-resume-'));
    const fronts: { server: Server; url: string }[] = [];
    const start = async () => {
      const instance = makeSns({
        dataDir: own,
        retryDelaysMs: [60_000],
        publicUrl: () => fronts[0]?.url ?? '',
      });
      fronts.push(await listen(snsFront(() => instance)));
      return instance;
    };
    const first = await start();
    const firstClient = sdkClient(fronts[0]?.url ?? '');
    const path = '/fail/resumed';
    const topicArn = first.topicArn('sensorbus-alerts');
    await firstClient.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `${receiver.url}${path}` }),
    );
    const confirmation = await waitFor(() => at(path, 'SubscriptionConfirmation')[0], 'the confirmation');
    await (await fetch(String(confirmation.json.SubscribeURL))).text();
    await firstClient.send(new PublishCommand({ TopicArn: topicArn, Message: 'survives a kill' }));
    await waitFor(() => at(path, 'Notification').length === 1, 'the first attempt');
    const journal = join(own, 'journal', 'sns.jsonl');
    await waitFor(
      () => readFileSync(journal, 'utf8').includes('"attempts":1'),
      'the failed attempt on record',
    );
    // the process is killed while the retry waits: no close()

    const restarted = await start();
    const resumed = restarted.resumeDeliveries();
    await restarted.idle();

    expect(resumed).toBe(1);
    expect(at(path, 'Notification').map((r) => r.json.Message)).toEqual([
      'survives a kill',
      'survives a kill',
    ]);
    expect(restarted.deadLetters()).toMatchObject([
      { reason: 'retries-exhausted', attempts: 2, type: 'Notification', error: 'HTTP 500' },
    ]);
    firstClient.destroy();
    await first.close();
    await restarted.close();
    for (const front of fronts) await stop(front.server);
    rmSync(own, { recursive: true, force: true });
  });

  it('stops retrying on close and records what was not delivered', async () => {
    const closing = makeSns({ dataDir: undefined, retryDelaysMs: [60_000] });
    const closingFront = await listen(snsFront(() => closing));
    const closingClient = sdkClient(closingFront.url);
    const path = '/fail/closing';
    const topicArn = closing.topicArn('sensorbus-alerts');
    await closingClient.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `${receiver.url}${path}` }),
    );
    await waitFor(() => at(path, 'SubscriptionConfirmation').length === 1, 'the first confirmation attempt');

    await closing.close();

    expect(at(path, 'SubscriptionConfirmation')).toHaveLength(1);
    expect(closing.deadLetters()).toMatchObject([
      { reason: 'stopped', error: 'HTTP 500', attempts: 1, type: 'SubscriptionConfirmation' },
    ]);
    closingClient.destroy();
    await stop(closingFront.server);
  });
});

describe('PublishBatch', () => {
  const recordedError = (name: keyof typeof recordedSns.answers) => {
    const { Code, Message } = (
      recordedSns.answers[name].answer as { Error: { Code: string; Message: string } }
    ).Error;
    return { code: Code, message: Message };
  };
  const failure = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    const { name, message } = error as { name: string; message: string };
    return { code: name.replace(/Exception$/, ''), message };
  };

  it('publishes each entry to the subscribers and answers every Id with its MessageId', async () => {
    const topicArn = await newTopic('batch');
    const to = 'batch@example.com';
    await client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: to }));
    const id80 = 'a'.repeat(80);

    const answer = await client.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: [
          { Id: 'first', Message: 'one', Subject: 'One' },
          {
            Id: id80,
            Message: 'two',
            MessageAttributes: { severity: { DataType: 'String', StringValue: 'critical' } },
          },
        ],
      }),
    );
    const mails = await waitFor(
      () => mailTo(to, topicArn).length === 3 && mailTo(to, topicArn),
      'two emails',
    );

    expect(answer.Failed).toEqual([]);
    expect(answer.Successful?.map((entry) => entry.Id)).toEqual(['first', id80]);
    expect(Object.keys(answer.Successful?.[1] ?? {})).toEqual(
      Object.keys(recordedSns.answers['publish-batch-id-80-chars'].answer.Successful?.[0] ?? {}),
    );
    // The confirmation and one mail per entry; the two entries' deliveries may end in either order.
    expect(mails.map((mail) => mail.messageId)).toEqual(
      expect.arrayContaining(answer.Successful?.map((e) => e.MessageId) ?? ['(none)']),
    );
  });

  it('refuses a bad batch whole, with the errors AWS answers, publishing nothing of it', async () => {
    const topicArn = await newTopic('batch-errors');
    const to = 'batch-errors@example.com';
    await client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: to }));
    const batch = (entries: { Id: string; Message: string; MessageStructure?: string }[], arn = topicArn) =>
      client.send(new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: entries }));
    const half = 262144 / 2;

    const errors = {
      tooMany: await failure(batch(Array.from({ length: 11 }, (_, i) => ({ Id: `Id_${i}`, Message: 'm' })))),
      sameIds: await failure(
        batch([
          { Id: '1', Message: 'a' },
          { Id: '1', Message: 'b' },
        ]),
      ),
      dot: await failure(batch([{ Id: 'message.id', Message: 'a' }])),
      long: await failure(batch([{ Id: 'a'.repeat(81), Message: 'a' }])),
      tooLong: await failure(
        batch([
          { Id: '1', Message: 'a'.repeat(half) },
          { Id: '2', Message: 'b'.repeat(half + 1) },
        ]),
      ),
      noDefault: await failure(
        batch([
          { Id: 'ok', Message: 'fine' },
          { Id: 'bad', Message: JSON.stringify({ sqs: 'test sqs' }), MessageStructure: 'json' },
        ]),
      ),
      noTopic: await failure(batch([{ Id: '1', Message: 'a' }], sns.topicArn('no-such-topic'))),
    };

    expect(errors).toEqual({
      tooMany: recordedError('publish-batch-eleven-entries'),
      sameIds: recordedError('publish-batch-same-ids'),
      dot: recordedError('publish-batch-id-with-dot'),
      long: recordedError('publish-batch-id-too-long'),
      tooLong: recordedError('publish-batch-too-long'),
      noDefault: recordedError('publish-batch-structure-without-default'),
      noTopic: recordedError('publish-batch-unknown-topic'),
    });
    await sns.idle();
    expect(mailTo(to, topicArn)).toHaveLength(1); // the confirmation only
  });
});

describe('sms', () => {
  const recordedError = (name: keyof typeof recordedSns.answers) =>
    (recordedSns.answers[name].answer as { Error: { Message: string } }).Error.Message;

  it('delivers to an sms subscription without confirmation, and a Publish to a phone number, to readable files', async () => {
    const topicArn = await newTopic('texts');
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: '+15551234567' }),
    );
    const viaTopic = await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'dev-1 is hot' }));
    const direct = await client.send(new PublishCommand({ PhoneNumber: '+15557654321', Message: 'hello' }));

    const sent = await waitFor(() => sns.sms().length >= 2 && sns.sms(), 'two text messages');
    const files = readdirSync(join(dataDir, 'sms'));

    expect(SubscriptionArn).toMatch(new RegExp(`^${topicArn}:`));
    expect(sent.map((sms) => [sms.to, sms.message, sms.messageId])).toEqual([
      ['+15551234567', 'dev-1 is hot', viaTopic.MessageId],
      ['+15557654321', 'hello', direct.MessageId],
    ]);
    expect(files).toHaveLength(2);
    expect(
      readFileSync(
        join(dataDir, 'sms', files.find((f) => f.includes(String(direct.MessageId))) ?? ''),
        'utf8',
      ),
    ).toContain('To: +15557654321');
  });

  it('refuses a number that is not one as AWS does', async () => {
    const topicArn = await newTopic('bad-texts');

    await expect(
      client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: 'invalid-number' })),
    ).rejects.toThrow(recordedError('subscribe-sms-invalid-number'));
    await expect(client.send(new PublishCommand({ PhoneNumber: '+1a234', Message: 'x' }))).rejects.toThrow(
      recordedError('publish-phone-invalid'),
    );
  });
});

describe('RedrivePolicy', () => {
  it('is validated as AWS does', async () => {
    const topicArn = await newTopic('redrive-checks');
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: '+15550000000' }),
    );
    const set = (value: string) =>
      client.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn,
          AttributeName: 'RedrivePolicy',
          AttributeValue: value,
        }),
      );

    const fakeArn = await set(JSON.stringify({ deadLetterTargetArn: 'fake-arn' })).catch(
      (e: Error) => e.message,
    );
    const notJson = await set('{invalidjson}').catch((e: Error) => e.message);

    expect(fakeArn).toBe(
      (recordedSns.answers['redrive-policy-invalid-arn'].answer as { Error: { Message: string } }).Error
        .Message,
    );
    expect(notJson).toBe(
      (recordedSns.answers['redrive-policy-not-json'].answer as { Error: { Message: string } }).Error.Message,
    );
  });

  it('sends a notification that failed for good to the dead-letter queue', async () => {
    const queue = new LocalSqs({ region: REGION, accountId: ACCOUNT, publicUrl: () => 'http://edge' });
    queue.createQueue('sns-dlq');
    const redriving = makeSns({
      dataDir: mkdtempSync(join(tmpdir(), 'sensorbus-sns-redrive-')),
      retryDelaysMs: [0],
      sendToQueue: (arn, body, attributes) =>
        queue.send(arn.slice(arn.lastIndexOf(':') + 1), body, attributes),
    });
    const edge = await listen(snsFront(() => redriving));
    const direct = sdkClient(edge.url);
    const { TopicArn } = await direct.send(new CreateTopicCommand({ Name: 'redriven' }));
    const path = '/fail/redrive';
    const { SubscriptionArn } = await direct.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'http',
        Endpoint: `${receiver.url}${path}`,
        ReturnSubscriptionArn: true,
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:sns-dlq` }),
        },
      }),
    );
    const { json } = await waitFor(() => at(path, 'SubscriptionConfirmation')[0], 'the confirmation');
    await direct.send(new ConfirmSubscriptionCommand({ TopicArn, Token: String(json.Token) }));

    const { MessageId } = await direct.send(new PublishCommand({ TopicArn, Message: 'to the queue' }));
    const [dead] = await waitFor(
      () => queue.messages('sns-dlq').length > 0 && queue.messages('sns-dlq'),
      'the queued dead letter',
    );
    const attributes = await direct.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }));

    expect(JSON.parse(dead?.body ?? '{}')).toMatchObject({
      Type: 'Notification',
      MessageId,
      Message: 'to the queue',
    });
    expect(dead?.messageAttributes.TopicArn?.StringValue).toBe(TopicArn);
    expect(attributes.Attributes?.RedrivePolicy).toContain('sns-dlq');
    await redriving.close();
    queue.close();
    await stop(edge.server);
  });
});
