import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaInvocationError } from '../../local-cloud/emulators/lambda/lambda.ts';
import { startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

const runaway = {
  entry: 'test/support/misbehaving-handler.ts',
  limits: { timeoutSeconds: 2, memoryMb: 512 },
};

const healthOf = async (url: string) => {
  const response = await fetch(`${url}/health`);
  return {
    status: response.status,
    body: (await response.json()) as { status: string; checks: Record<string, unknown> },
  };
};

describe('/health', () => {
  let t: TestCloud;

  beforeAll(async () => {
    t = await startTestCloud({
      readyWhenMarked: true,
      lambda: { extraFunctions: { runaway }, heartbeatIntervalMs: 100, unresponsiveAfterMs: 500 },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers 503 starting until the launcher marks the system ready, then 200 ok, on the REST API and the edge alike', async () => {
    const before = await Promise.all([healthOf(t.cloud.apiUrl), healthOf(t.cloud.edgeUrl)]);
    t.cloud.markReady();
    const after = await Promise.all([healthOf(t.cloud.apiUrl), healthOf(t.cloud.edgeUrl)]);

    expect(before.map(({ status, body }) => [status, body.status])).toEqual([
      [503, 'starting'],
      [503, 'starting'],
    ]);
    expect(after.map(({ status, body }) => [status, body.status])).toEqual([
      [200, 'ok'],
      [200, 'ok'],
    ]);
    expect(after[0]?.body.checks).toHaveProperty('lambda');
  });

  it('answers 503 degraded while a function is stuck, naming it, and ok again once the runtime ended it', async () => {
    const stuck = t.cloud.lambda.invoke('runaway', { action: 'loop' }).catch((error: unknown) => error);

    const degraded = await waitFor(async () => {
      const health = await healthOf(t.cloud.apiUrl);
      return health.body.status === 'degraded' ? health : undefined;
    }, 'the health report to turn degraded');
    const edge = await healthOf(t.cloud.edgeUrl);
    const ended = await stuck;
    await waitFor(
      async () => (await healthOf(t.cloud.apiUrl)).status === 200,
      'the health report to recover',
    );

    expect(degraded.status).toBe(503);
    expect(degraded.body.checks.lambda).toMatchObject({ ok: false, stuck: ['runaway'] });
    expect(edge.status).toBe(503);
    expect(ended).toBeInstanceOf(LambdaInvocationError);
    expect((ended as LambdaInvocationError).name).toBe('Sandbox.Timedout');
  });
});
