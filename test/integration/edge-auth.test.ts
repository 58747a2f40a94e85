import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses, secrets, stateMachines, topics } from '../../infra/topology.ts';
import {
  ADMIN_SIGNING_NAME,
  type AwsCredentials,
  signedFetch,
  signedHeaders,
} from '../../local-cloud/emulators/edge/sigv4.ts';
import { LOCAL_REGION, localArns } from '../../local-cloud/launcher/arns.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
let receiver: Server;
let receiverUrl: string;
const received: Record<string, string>[] = [];

beforeAll(async () => {
  t = await startTestCloud();
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push(JSON.parse(text) as Record<string, string>);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sns`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await t.stop();
});

const topicArn = () => localArns.topic(topics.alerts.name);

/**
 * A GET with exactly these headers, as a browser sends a navigation (`fetch` replaces
 * `Sec-Fetch-Mode` with its own `cors`). Answers the status.
 */
const navigate = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });

/** One SDK call per protocol the edge speaks, each with the typed exception names AWS answers. */
const protocols = [
  {
    name: 'DynamoDB (JSON 1.0)',
    call: (credentials: AwsCredentials) =>
      new DynamoDBClient(configWith(credentials)).send(new ListTablesCommand({})),
    wrongSecret: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
  {
    name: 'EventBridge (JSON 1.1)',
    call: (credentials: AwsCredentials) =>
      new EventBridgeClient(configWith(credentials)).send(
        new ListRulesCommand({ EventBusName: buses.telemetry.name }),
      ),
    wrongSecret: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
  {
    name: 'Step Functions (JSON 1.0)',
    call: (credentials: AwsCredentials) =>
      new SFNClient(configWith(credentials)).send(
        new ListExecutionsCommand({
          stateMachineArn: localArns.stateMachine(stateMachines.enrichReading.name),
        }),
      ),
    wrongSecret: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
  {
    name: 'Secrets Manager (JSON 1.1)',
    call: (credentials: AwsCredentials) =>
      new SecretsManagerClient(configWith(credentials)).send(
        new GetSecretValueCommand({ SecretId: secrets.tokenSigningKey.name }),
      ),
    wrongSecret: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
  {
    name: 'SNS (Query)',
    call: (credentials: AwsCredentials) =>
      new SNSClient(configWith(credentials)).send(new ListTopicsCommand({})),
    wrongSecret: 'SignatureDoesNotMatch',
    unknownKey: 'InvalidClientTokenId',
  },
  {
    name: 'API Gateway Management API (REST-JSON)',
    call: (credentials: AwsCredentials) =>
      new ApiGatewayManagementApiClient(configWith(credentials)).send(
        new GetConnectionCommand({ ConnectionId: 'no-such-connection=' }),
      ),
    wrongSecret: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
];

const configWith = (credentials: AwsCredentials) => ({
  ...edgeClientConfig({ edgeUrl: t.cloud.edgeUrl, awsCredentials: credentials }),
  maxAttempts: 1,
});
const wrongSecret = () => ({
  ...t.cloud.awsCredentials,
  secretAccessKey: newAwsCredentials().secretAccessKey,
});
const unknownKey = () => ({ ...newAwsCredentials() });

const failureOf = async (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error as { name: string; message: string; $metadata?: { httpStatusCode?: number } },
  );

describe('the edge refuses SDK clients without the generated credentials', () => {
  it.each(protocols)(
    '$name: a wrong secret and an unknown key id raise AWS typed exceptions',
    async (protocol) => {
      const withWrongSecret = await failureOf(protocol.call(wrongSecret()));
      const withUnknownKey = await failureOf(protocol.call(unknownKey()));
      const withOurs = await failureOf(protocol.call(t.cloud.awsCredentials));

      expect(withWrongSecret?.name).toBe(protocol.wrongSecret);
      expect(withUnknownKey?.name).toBe(protocol.unknownKey);
      // With the generated credentials the call goes through (or fails for a reason that is not auth).
      expect([undefined, 'GoneException']).toContain(withOurs?.name);
    },
  );

  it('keeps the token signing key from anyone without them', async () => {
    const refused = await failureOf(
      new SecretsManagerClient(configWith(unknownKey())).send(
        new GetSecretValueCommand({ SecretId: secrets.tokenSigningKey.name }),
      ),
    );
    const answered = await new SecretsManagerClient(edgeClientConfig(t.cloud)).send(
      new GetSecretValueCommand({ SecretId: secrets.tokenSigningKey.name }),
    );

    expect(refused?.name).toBe('UnrecognizedClientException');
    expect(answered.SecretString).toBeTruthy();
  });
});

/** Raw requests, one per protocol, as a client without the SDK would send them. */
const raw = {
  dynamodb: {
    path: '/',
    service: 'dynamodb',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' },
    body: '{}',
  },
  events: {
    path: '/',
    service: 'events',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.ListRules' },
    body: JSON.stringify({ EventBusName: buses.telemetry.name }),
  },
  states: {
    path: '/',
    service: 'states',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AWSStepFunctions.ListExecutions',
    },
    body: JSON.stringify({ stateMachineArn: localArns.stateMachine(stateMachines.enrichReading.name) }),
  },
  secrets: {
    path: '/',
    service: 'secretsmanager',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body: JSON.stringify({ SecretId: secrets.tokenSigningKey.name }),
  },
  sns: {
    path: '/',
    service: 'sns',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      Action: 'Subscribe',
      TopicArn: localArns.topic(topics.alerts.name),
      Protocol: 'email',
      Endpoint: 'attacker@example.com',
    }).toString(),
  },
  connections: { path: '/@connections/abc%3D', service: 'execute-api', headers: {}, body: 'hello' },
  faults: {
    path: '/_sensorbus/faults',
    service: ADMIN_SIGNING_NAME,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'dynamodb', operation: 'PutItem', mode: 'error' }),
  },
} as const;
type RawName = keyof typeof raw;

/** The error code and status an answer carries, read the way the SDK reads each protocol. */
const errorOf = async (response: Response, name: RawName) => {
  const text = await response.text();
  if (name === 'sns') return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1], text };
  if (name === 'connections' || name === 'faults')
    return { status: response.status, code: response.headers.get('x-amzn-errortype'), text };
  return { status: response.status, code: (JSON.parse(text) as { __type?: string }).__type, text };
};

const send = async (
  name: RawName,
  options: { signing?: 'ours' | 'stale'; body?: string; headers?: Record<string, string> } = {},
) => {
  const request = raw[name];
  const url = `${t.cloud.edgeUrl}${request.path}`;
  const init = { method: 'POST', headers: { ...request.headers }, body: request.body };
  const signed =
    options.signing === undefined
      ? {}
      : await signedHeaders(url, init, {
          credentials: t.cloud.awsCredentials,
          region: LOCAL_REGION,
          service: request.service,
          ...(options.signing === 'stale' ? { signingDate: new Date(Date.now() - 20 * 60_000) } : {}),
        });
  return fetch(url, {
    method: 'POST',
    headers: { ...request.headers, ...signed, ...options.headers },
    body: options.body ?? request.body,
  });
};

const expected: Record<
  RawName,
  { missing: [number, string]; mismatch: [number, string]; foreign: [number, string] }
> = {
  dynamodb: {
    missing: [400, 'MissingAuthenticationTokenException'],
    mismatch: [400, 'InvalidSignatureException'],
    foreign: [403, 'AccessDeniedException'],
  },
  events: {
    missing: [400, 'MissingAuthenticationTokenException'],
    mismatch: [400, 'InvalidSignatureException'],
    foreign: [403, 'AccessDeniedException'],
  },
  states: {
    missing: [400, 'MissingAuthenticationTokenException'],
    mismatch: [400, 'InvalidSignatureException'],
    foreign: [403, 'AccessDeniedException'],
  },
  secrets: {
    missing: [400, 'MissingAuthenticationTokenException'],
    mismatch: [400, 'InvalidSignatureException'],
    foreign: [403, 'AccessDeniedException'],
  },
  sns: {
    missing: [403, 'MissingAuthenticationToken'],
    mismatch: [403, 'SignatureDoesNotMatch'],
    foreign: [403, 'AuthorizationError'],
  },
  connections: {
    missing: [403, 'MissingAuthenticationTokenException'],
    mismatch: [403, 'InvalidSignatureException'],
    foreign: [403, 'ForbiddenException'],
  },
  faults: {
    missing: [403, 'MissingAuthenticationTokenException'],
    mismatch: [403, 'InvalidSignatureException'],
    foreign: [403, 'ForbiddenException'],
  },
};

describe('the edge refuses raw requests that are unsigned, tampered with, stale or from a browser', () => {
  it.each(Object.keys(raw) as RawName[])('%s: in the protocol’s own error shape', async (name) => {
    const unsigned = await errorOf(await send(name), name);
    const tampered = await errorOf(await send(name, { signing: 'ours', body: `${raw[name].body} ` }), name);
    const stale = await errorOf(await send(name, { signing: 'stale' }), name);
    const fromPage = await send(name, { signing: 'ours', headers: { origin: 'https://evil.example' } });
    const fromPageAnswer = await errorOf(fromPage, name);

    expect([unsigned.status, unsigned.code]).toEqual(expected[name].missing);
    expect([tampered.status, tampered.code]).toEqual(expected[name].mismatch);
    expect([stale.status, stale.code]).toEqual(expected[name].mismatch);
    expect(stale.text).toContain('Signature expired');
    expect([fromPageAnswer.status, fromPageAnswer.code]).toEqual(expected[name].foreign);
    expect(fromPage.headers.get('access-control-allow-origin')).toBeNull();
    expect(t.cloud.faults.list()).toEqual([]);
  });

  it('refuses GetSecretValue unsigned without a trace of the key', async () => {
    const answer = await errorOf(await send('secrets'), 'secrets');

    expect(answer.code).toBe('MissingAuthenticationTokenException');
    expect(answer.text).not.toContain('SecretString');
  });

  it('refuses a body whose declared hash is not its own, and a signature scoped to another service', async () => {
    const declared = await send('events', {
      signing: 'ours',
      headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    });
    const url = `${t.cloud.edgeUrl}/`;
    const init = { method: 'POST', headers: { ...raw.events.headers }, body: raw.events.body };
    const otherService = await fetch(url, {
      ...init,
      headers: {
        ...init.headers,
        ...(await signedHeaders(url, init, {
          credentials: t.cloud.awsCredentials,
          region: LOCAL_REGION,
          service: 'dynamodb',
        })),
      },
    });
    const otherRegion = await fetch(url, {
      ...init,
      headers: {
        ...init.headers,
        ...(await signedHeaders(url, init, {
          credentials: t.cloud.awsCredentials,
          region: 'eu-west-1',
          service: 'events',
        })),
      },
    });

    expect((await errorOf(declared, 'events')).code).toBe('InvalidSignatureException');
    expect((await errorOf(otherService, 'events')).text).toContain("scoped to correct service: 'events'");
    expect((await errorOf(otherRegion, 'events')).text).toContain('scoped to a valid region');
  });

  it('refuses a foreign page’s text/plain POST to the faults endpoint and its preflight, with no CORS headers', async () => {
    const simple = await fetch(`${t.cloud.edgeUrl}/_sensorbus/faults`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      body: JSON.stringify({ service: 'dynamodb', operation: 'PutItem', mode: 'error' }),
    });
    const preflight = await fetch(`${t.cloud.edgeUrl}/`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-amz-target',
      },
    });

    expect(simple.status).toBe(403);
    expect(preflight.status).toBe(403);
    const corsHeaders: string[] = [];
    preflight.headers.forEach((_, header) => {
      if (header.startsWith('access-control-')) corsHeaders.push(header);
    });
    expect(corsHeaders).toEqual([]);
    expect(t.cloud.faults.list()).toEqual([]);
  });

  it('answers the project CLI’s signed admin requests', async () => {
    const listed = await signedFetch(
      `${t.cloud.edgeUrl}/_sensorbus/events/dead-letters`,
      {},
      { credentials: t.cloud.awsCredentials, region: LOCAL_REGION, service: ADMIN_SIGNING_NAME },
    );
    const unsigned = await fetch(`${t.cloud.edgeUrl}/_sensorbus/events/dead-letters`);

    expect(listed.status).toBe(200);
    expect(unsigned.status).toBe(403);
  });
});

describe('SNS links work unsigned, as on AWS', () => {
  const sns = () => new SNSClient(edgeClientConfig(t.cloud));
  const subscriptionsOf = async (endpoint: string) =>
    (
      (await sns().send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn() }))).Subscriptions ?? []
    ).filter((s) => s.Endpoint === endpoint);

  it('confirms an http subscription through its SubscribeURL, clicked from a webmail or fetched by the endpoint', async () => {
    await sns().send(new SubscribeCommand({ TopicArn: topicArn(), Protocol: 'http', Endpoint: receiverUrl }));
    const confirmation = await waitFor(
      () => received.find((m) => m.Type === 'SubscriptionConfirmation'),
      'the SubscriptionConfirmation',
    );
    const subscribeUrl = confirmation.SubscribeURL ?? '';
    const fromPage = await fetch(subscribeUrl, {
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    });
    const pendingAfterPage = (await subscriptionsOf(receiverUrl))[0]?.SubscriptionArn;
    const clicked = await navigate(subscribeUrl, {
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-user': '?1',
    });

    expect(fromPage.status).toBe(403);
    expect(pendingAfterPage).toBe('PendingConfirmation');
    expect(clicked).toBe(200);
    expect((await subscriptionsOf(receiverUrl))[0]?.SubscriptionArn).toMatch(/^arn:aws:sns:/);
  });

  it('ends an email subscription through the unsubscribe link in its mails, opened from a mail client', async () => {
    const endpoint = 'unsubscribe-link@example.com';
    await sns().send(new SubscribeCommand({ TopicArn: topicArn(), Protocol: 'email', Endpoint: endpoint }));
    await sns().send(
      new PublishCommand({ TopicArn: topicArn(), Message: 'edge auth test', Subject: 'edge auth' }),
    );
    const mail = await waitFor(
      () => t.cloud.sns.mail().find((m) => m.to === endpoint && m.body.includes('edge auth test')),
      'the notification mail',
    );
    const link = /(http:\/\/\S+Action=Unsubscribe\S+)/.exec(mail.body)?.[1] ?? '';
    const opened = await navigate(link, {
      'sec-fetch-site': 'none',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    });

    expect(opened).toBe(200);
    expect(await subscriptionsOf(endpoint)).toEqual([]);
  });

  it('refuses an unsigned Subscribe and an unsigned POSTed ConfirmSubscription', async () => {
    const subscribe = await fetch(
      `${t.cloud.edgeUrl}/?Action=Subscribe&TopicArn=${topicArn()}&Protocol=email&Endpoint=x@example.com`,
    );
    const confirm = await fetch(`${t.cloud.edgeUrl}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        Action: 'ConfirmSubscription',
        TopicArn: topicArn(),
        Token: 'x',
      }).toString(),
    });

    expect(subscribe.status).toBe(403);
    expect(confirm.status).toBe(403);
    expect(await subscriptionsOf('x@example.com')).toEqual([]);
  });
});
