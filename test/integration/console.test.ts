import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import type { Notice } from '../../local-cloud/launcher/console-log.ts';
import { type PostFailure, startSimulator } from '../../local-cloud/launcher/simulator.ts';
import { startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

/**
 * What `npm start` shows at its console: the counters of its status line, and the notices (the
 * local cloud's failures, the handlers' log lines) that its quiet console collapses.
 */
let t: TestCloud;
const notices: Notice[] = [];
beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5, logLevel: 'WARN', log: (notice) => notices.push(notice) });
});
afterAll(() => t.stop());

const reading = (deviceId: string, second: number) => ({
  deviceId,
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
  metrics: { temperature: 20 + second },
});

describe('the local cloud’s stats', () => {
  it('count the readings ingest accepted, in single posts and batches, duplicates included', async () => {
    const apiKey = await t.registerDevice('stats-1');
    const before = t.cloud.stats();

    const single = await t.api('/readings', { method: 'POST', apiKey, json: reading('stats-1', 1) });
    const batch = await t.api('/readings', {
      method: 'POST',
      apiKey,
      json: { readings: [reading('stats-1', 2), reading('stats-1', 3), { deviceId: 'stats-1' }] },
    });
    const again = await t.api('/readings', { method: 'POST', apiKey, json: reading('stats-1', 1) });
    const refused = await t.api('/readings', {
      method: 'POST',
      apiKey: 'sbk_wrong',
      json: reading('stats-1', 4),
    });

    expect([single.status, batch.status, again.status, refused.status]).toEqual([202, 207, 202, 401]);
    const after = t.cloud.stats();
    expect(after.acceptedReadings - before.acceptedReadings).toBe(4);
    expect(after.throttledRequests).toBe(0);
    expect(after.rssBytes).toBeGreaterThan(0);
  });

  it('count deliveries pending until they succeed or go dead, and the dead letters', async () => {
    const telemetry = buses.telemetry.name;
    const target = localArns.bus(buses.websocket.name);
    t.cloud.sqs.createQueue('stats-dlq');
    t.cloud.events.putRule({
      Name: 'stats-dlq',
      EventBusName: telemetry,
      EventPattern: '{"source":["test.stats"]}',
    });
    t.cloud.events.putTargets({
      Rule: 'stats-dlq',
      EventBusName: telemetry,
      Targets: [
        {
          Id: 'doomed',
          Arn: target,
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
          DeadLetterConfig: { Arn: localArns.queue('stats-dlq') },
        },
      ],
    });
    t.cloud.faults.inject({ service: 'target', operation: target, mode: 'error' });
    const before = t.cloud.stats();

    t.cloud.events.putEvents({
      Entries: [{ EventBusName: telemetry, Source: 'test.stats', DetailType: 'Test', Detail: '{}' }],
    });

    expect(t.cloud.stats().pendingDeliveries).toBeGreaterThan(0);
    await waitFor(() => t.cloud.stats().deadLetters === before.deadLetters + 1, 'the dead letter');
    t.cloud.faults.clear();
    await waitFor(() => t.cloud.stats().pendingDeliveries === 0, 'no delivery pending');
    expect(notices).toContainEqual(
      expect.objectContaining({ source: 'eventbridge', reason: `InjectedTargetFailure at ${target}` }),
    );
  });
});

describe('the local cloud’s notices', () => {
  it('carry the handlers’ warnings, one notice per log line, grouped by message and error', async () => {
    const apiKey = await t.registerDevice('stats-2');
    t.cloud.faults.inject({ service: 'dynamodb', operation: 'PutItem', mode: 'error', times: 20 });

    const failed = await t.api('/readings', { method: 'POST', apiKey, json: reading('stats-2', 1) });
    t.cloud.faults.clear();

    expect(failed.status).toBe(503);
    const [warning] = await waitFor(() => {
      const found = notices.filter(
        // An unwatched device's reading goes into its hour's item, created by a PutItem.
        (n) => n.source === 'handlers' && n.reason.startsWith('Readings of an hour could not be stored'),
      );
      return found.length > 0 ? found : undefined;
    }, 'the handler warning');
    expect(warning?.message).toMatch(/^WARN Readings of an hour could not be stored \(\w+/);
    expect(warning?.detail).toContain('"level":"WARN"');
  });
});

describe('the simulated fleet’s failures', () => {
  const failuresOf = async (apiUrl: string, apiKey: string, deviceId: string) => {
    const failures: PostFailure[] = [];
    const simulator = startSimulator({
      apiUrl,
      devices: [{ deviceId, apiKey, metrics: { temperature: [20, 1, 5] } }],
      intervalMs: 50,
      onFailure: (failure) => failures.push(failure),
    });
    await waitFor(() => failures.length >= 3, 'three failed posts');
    await simulator.stop();
    return failures;
  };

  it('name the error code the API answered, without ids, so repeats collapse into one kind', async () => {
    const apiKey = await t.registerDevice('stats-3');
    t.cloud.faults.inject({ service: 'dynamodb', operation: 'PutItem', mode: 'error' });

    const failures = await failuresOf(t.cloud.apiUrl, apiKey, 'stats-3');
    t.cloud.faults.clear();

    expect(new Set(failures.map((f) => f.reason))).toEqual(new Set(['503 StoreUnavailable']));
    expect(failures[0]?.message).toMatch(/^stats-3: POST \/readings answered 503/);
  });

  it('name the system error when the API cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const failures = await failuresOf(`http://127.0.0.1:${port}`, 'sbk_any', 'stats-4');

    expect(failures[0]).toEqual({
      deviceId: 'stats-4',
      reason: 'fetch failed: ECONNREFUSED',
      message: 'stats-4: POST /readings failed: fetch failed: ECONNREFUSED',
    });
  });
});
