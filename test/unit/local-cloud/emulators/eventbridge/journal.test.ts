import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalEventBridge,
  type LocalEventBridgeOptions,
  type TargetInvoker,
} from '../../../../../local-cloud/emulators/eventbridge/service.ts';
import { Faults } from '../../../../../local-cloud/emulators/shared/faults.ts';
import { SqsDeadLetterQueues } from '../../../../../local-cloud/emulators/sqs/dead-letter-queues.ts';
import { LocalSqs } from '../../../../../local-cloud/emulators/sqs/sqs.ts';
import { waitFor } from '../../../../support/local-cloud.ts';

const BUS = 'journal-test';
const TARGET = 'arn:aws:lambda:us-east-1:000000000000:function:target';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:journal-test-dlq';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-eb-journal-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const never: TargetInvoker = () => new Promise(() => {});

/** A local EventBridge on `dataDir` with one rule and one target, as a fresh process would start it. */
const start = (invoke: TargetInvoker, options: Partial<LocalEventBridgeOptions> = {}) => {
  // The dead-letter queue is a queue of a local SQS on the same data directory, as a process has it.
  const sqs = new LocalSqs({ region: 'us-east-1', accountId: '000000000000', dataDir, publicUrl: () => '' });
  if (!sqs.hasQueue('journal-test-dlq')) sqs.createQueue('journal-test-dlq');
  const events = new LocalEventBridge({
    deadLetters: new SqsDeadLetterQueues(sqs),
    region: 'us-east-1',
    accountId: '000000000000',
    busNames: [BUS],
    archivedBuses: [{ name: BUS, retentionDays: 0 }],
    faults: new Faults(),
    resolveTarget: () => invoke,
    retryBaseDelayMs: 1,
    maxRetryDelayMs: 1,
    dataDir,
    ...options,
  });
  events.putRule({ Name: 'all', EventBusName: BUS, EventPattern: '{"source":["test.journal"]}' });
  events.putTargets({
    Rule: 'all',
    EventBusName: BUS,
    Targets: [
      {
        Id: 'target',
        Arn: TARGET,
        RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: DLQ },
      },
    ],
  });
  return events;
};

const put = (events: LocalEventBridge, n: number) =>
  events.putEvents({
    Entries: [
      { Source: 'test.journal', DetailType: 'Thing', Detail: JSON.stringify({ n }), EventBusName: BUS },
    ],
  });

describe('the local EventBridge, killed and started again on the same data', () => {
  it('has archived an accepted event by the time PutEvents answers', () => {
    const events = start(never);

    put(events, 1);

    const archive = readFileSync(join(dataDir, 'archive', `${BUS}.jsonl`), 'utf8');
    expect(archive).toContain('"detail":{"n":1}');
  });

  it('delivers what it had accepted but not delivered when it was killed', async () => {
    const killed = start(never);
    put(killed, 1);
    put(killed, 2);
    // no close(): the process was killed with both deliveries under way

    const delivered: unknown[] = [];
    const restarted = start(async (_payload, event) => void delivered.push(event.detail));
    const resumed = restarted.resumePending();
    await waitFor(() => delivered.length === 2, 'both deliveries');
    await restarted.close(0);

    expect(resumed).toBe(2);
    expect(delivered).toEqual([{ n: 1 }, { n: 2 }]);
    expect(start(never).resumePending()).toBe(0);
  });

  it('keeps the attempts already made, so the retry policy still ends in the dead-letter queue', async () => {
    let calls = 0;
    const killed = start(async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('first attempt fails'), { name: 'TargetFailure' });
      await new Promise(() => {});
    });
    put(killed, 1);
    await waitFor(() => calls === 2, 'the retry under way');
    // killed during the retry: one failed attempt is on record

    const restarted = start(async () => {
      throw Object.assign(new Error('still failing'), { name: 'TargetFailure' });
    });
    restarted.resumePending();
    const [letter] = await waitFor(() => {
      const letters = restarted.deadLetters.list('journal-test-dlq');
      return letters.length > 0 ? letters : undefined;
    }, 'the dead letter');
    await restarted.close(0);

    expect(letter?.attributes).toMatchObject({
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
      RETRY_ATTEMPTS: 1,
      ERROR_MESSAGE: 'still failing',
    });
    expect(start(never).resumePending()).toBe(0);
  });

  it('takes over, once, the deliveries an older version saved at a clean stop', async () => {
    const legacy = join(dataDir, 'eventbridge-pending.json');
    const event = {
      version: '0',
      id: 'e-legacy',
      'detail-type': 'Thing',
      source: 'test.journal',
      account: '000000000000',
      time: '2026-11-20T08:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { n: 7 },
    };
    writeFileSync(
      legacy,
      JSON.stringify([
        {
          id: 'old',
          ruleArn: `arn:aws:events:us-east-1:000000000000:rule/${BUS}/all`,
          targetId: 'target',
          event,
          ingestionTime: '2026-11-20T08:00:00.000Z',
          attempts: 0,
          firstAttemptAt: Date.now(),
        },
      ]),
    );

    const first = start(never);
    const resumed = first.resumePending();
    // killed again before delivering: the journal has it now, the old file is gone
    const delivered: unknown[] = [];
    const second = start(async (_payload, e) => void delivered.push(e.detail));
    const resumedAgain = second.resumePending();
    await waitFor(() => delivered.length === 1, 'the legacy delivery');
    await second.close(0);

    expect(resumed).toBe(1);
    expect(existsSync(legacy)).toBe(false);
    expect(resumedAgain).toBe(1);
    expect(delivered).toEqual([{ n: 7 }]);
  });
});

describe('the local EventBridge with a backlog larger than its memory window', () => {
  /** A target that takes a moment per delivery and records how many run at once and what it got. */
  const recordingTarget = () => {
    const seen: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const invoke: TargetInvoker = async (payload) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(Number((JSON.parse(payload) as { detail: { n: number } }).detail.n));
      running--;
    };
    return { invoke, seen, mostAtOnce: () => mostAtOnce };
  };

  it('delivers every event exactly once, never more at once than its concurrency, reading the overflow back from disk', async () => {
    const target = recordingTarget();
    const events = start(target.invoke, { maxConcurrentDeliveries: 3, maxDeliveriesInMemory: 10 });

    for (let n = 0; n < 60; n++) put(events, n);
    const pendingAtPeak = events.pendingCount();
    await waitFor(() => events.pendingCount() === 0, 'the backlog to drain');
    await events.close(0);

    expect(pendingAtPeak).toBe(60);
    expect([...target.seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(target.mostAtOnce()).toBeLessThanOrEqual(3);
  });

  it('resumes a backlog left on disk by a killed process, window by window, each delivery once', async () => {
    const killed = start(never, { maxDeliveriesInMemory: 10 });
    for (let n = 0; n < 40; n++) put(killed, n);
    // no close(): the process was killed with 40 deliveries pending, 30 of them only on disk

    const target = recordingTarget();
    const restarted = start(target.invoke, { maxConcurrentDeliveries: 4, maxDeliveriesInMemory: 10 });
    const resumed = restarted.resumePending();
    await waitFor(() => restarted.pendingCount() === 0, 'the resumed backlog to drain');
    await restarted.close(0);

    expect(resumed).toBe(40);
    expect([...target.seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });
});
