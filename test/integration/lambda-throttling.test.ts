import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { edgeClientConfig, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

/** A function that runs one invocation at a time, held until the test lets it finish. */
const gated = {
  entry: 'test/support/gated-handler.ts',
  limits: { timeoutSeconds: 30, memoryMb: 128, reservedConcurrency: 1 },
};
const GATED_ARN = localArns.function('gated');
const BUS = buses.telemetry.name;

let t: TestCloud;
let dir: string;
let lambda: LambdaClient;
let events: EventBridgeClient;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sensorbus-throttle-'));
  t = await startTestCloud({
    lambda: { extraFunctions: { gated } },
    retryBaseDelayMs: 50,
    // Any pending work is "behind" here, so the health test sees the bound crossed with one event.
    backlogDegradedAbove: 0,
  });
  // The SDK retries throttles itself; one attempt shows what Lambda answered.
  lambda = new LambdaClient({ ...edgeClientConfig(t.cloud), maxAttempts: 1 });
  events = new EventBridgeClient(edgeClientConfig(t.cloud));
});
afterAll(async () => {
  lambda.destroy();
  events.destroy();
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Takes the function's one slot with an invocation that runs until `release` is called. */
const holdTheSlot = async (name: string) => {
  const gate = join(dir, name);
  const held = lambda.send(
    new InvokeCommand({ FunctionName: GATED_ARN, Payload: JSON.stringify({ holdUntil: gate }) }),
  );
  await waitFor(() => t.cloud.lambda.inFlight > 0, 'the held invocation to run');
  return {
    release: async () => {
      writeFileSync(gate, '');
      expect((await held).StatusCode).toBe(200);
    },
  };
};

const putRule = async (name: string, retryAttempts: number) => {
  t.cloud.sqs.createQueue(`${name}-dlq`);
  await events.send(
    new PutRuleCommand({ Name: name, EventBusName: BUS, EventPattern: JSON.stringify({ source: [name] }) }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: BUS,
      Targets: [
        {
          Id: 'gated',
          Arn: GATED_ARN,
          RetryPolicy: { MaximumRetryAttempts: retryAttempts, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: localArns.queue(`${name}-dlq`) },
        },
      ],
    }),
  );
};

const putEvent = async (source: string, log: string) => {
  const answer = await events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: BUS, Source: source, DetailType: 'Test', Detail: JSON.stringify({ log }) }],
    }),
  );
  const id = answer.Entries?.[0]?.EventId;
  if (!id) throw new Error(`PutEvents refused the event: ${JSON.stringify(answer)}`);
  return id;
};

const ranIds = (log: string) =>
  existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];

describe('Lambda concurrency', () => {
  it('answers an Invoke over the reserved concurrency with TooManyRequestsException and its reason, through the real SDK', async () => {
    const slot = await holdTheSlot('sdk');

    const refused = await lambda
      .send(new InvokeCommand({ FunctionName: 'sensorbus-gated', Payload: JSON.stringify({}) }))
      .catch((error: unknown) => error);
    await slot.release();
    const afterwards = await lambda.send(new InvokeCommand({ FunctionName: GATED_ARN, Payload: '{}' }));

    expect(refused).toBeInstanceOf(TooManyRequestsException);
    expect(refused).toMatchObject({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    expect(afterwards.StatusCode).toBe(200);
    expect(JSON.parse(Buffer.from(afterwards.Payload ?? []).toString())).toEqual({ ran: true });
  });

  it('is retried by EventBridge with backoff while the function is throttled, and delivered once when it frees', async () => {
    const rule = 'test-throttle-retried';
    await putRule(rule, 8);
    const log = join(dir, `${rule}.log`);
    const slot = await holdTheSlot(rule);
    const throttledBefore = t.cloud.lambda.throttledCount;

    const eventId = await putEvent(rule, log);
    await waitFor(() => t.cloud.lambda.throttledCount >= throttledBefore + 2, 'two throttled attempts');
    const ranWhileHeld = ranIds(log);
    await slot.release();
    await waitFor(() => ranIds(log).length > 0, 'the delivery once the slot is free');
    await waitFor(() => t.cloud.events.pendingCount() === 0, 'nothing pending');

    expect(ranWhileHeld).toEqual([]);
    expect(ranIds(log)).toEqual([eventId]);
    expect(t.cloud.events.deadLetters.list(`${rule}-dlq`)).toEqual([]);
  });

  it('dead-letters a throttled delivery only past the target retry policy, saying why', async () => {
    const rule = 'test-throttle-dead-lettered';
    await putRule(rule, 1);
    const log = join(dir, `${rule}.log`);
    const slot = await holdTheSlot(rule);

    const eventId = await putEvent(rule, log);
    const [letter] = await waitFor(() => {
      const letters = t.cloud.events.deadLetters.list(`${rule}-dlq`);
      return letters.length > 0 && letters;
    }, 'the dead letter');
    await slot.release();

    expect(letter?.body).toMatchObject({ id: eventId });
    expect(letter?.attributes).toMatchObject({
      ERROR_CODE: 'TooManyRequestsException',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
      RETRY_ATTEMPTS: 1,
    });
    expect(ranIds(log)).toEqual([]);
  });

  it('makes /health degraded, saying why, while work is pending past the bound, and ok once it drained', async () => {
    const rule = 'test-throttle-health';
    await putRule(rule, 8);
    const slot = await holdTheSlot(rule);
    const health = async () => {
      const response = await fetch(`${t.cloud.apiUrl}/health`);
      return {
        status: response.status,
        body: (await response.json()) as { status: string; checks: Record<string, unknown> },
      };
    };

    await putEvent(rule, join(dir, `${rule}.log`));
    const behind = await health();
    await slot.release();
    await waitFor(() => t.cloud.events.pendingCount() === 0, 'nothing pending');
    const caughtUp = await health();

    expect(behind.status).toBe(503);
    expect(behind.body.status).toBe('degraded');
    expect(behind.body.checks.backlog).toMatchObject({
      ok: false,
      pendingDeliveries: 1,
      limit: 0,
      reason: expect.stringContaining('behind'),
    });
    expect(caughtUp.status).toBe(200);
    expect(caughtUp.body.checks.backlog).toMatchObject({ ok: true, pendingDeliveries: 0 });
  });
});
