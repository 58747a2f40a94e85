/**
 * `tsx test/bench/put-events.ts`: how many events a second the local EventBridge accepts (PutEvents
 * calls of 10 entries, one matching rule with one target, archive on) with a data folder, where
 * every accepted event is archived and its delivery journaled before the call answers, and in
 * memory. Prints one line per mode; the figures compare a change's cost, never assert anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalEventBridge } from '../../local-cloud/emulators/eventbridge/service.ts';
import { Faults } from '../../local-cloud/emulators/shared/faults.ts';
import { SqsDeadLetterQueues } from '../../local-cloud/emulators/sqs/dead-letter-queues.ts';
import { LocalSqs } from '../../local-cloud/emulators/sqs/sqs.ts';

const CALLS = Number(process.env.PUT_EVENTS_CALLS ?? 3000);
const ENTRIES = 10;
const BUS = 'bench';

const measure = async (dataDir: string | undefined) => {
  let delivered = 0;
  const events = new LocalEventBridge({
    region: 'us-east-1',
    accountId: '000000000000',
    busNames: [BUS],
    archivedBuses: [{ name: BUS, retentionDays: 0 }],
    faults: new Faults(),
    deadLetters: new SqsDeadLetterQueues(
      new LocalSqs({ region: 'us-east-1', accountId: '000000000000', publicUrl: () => '' }),
    ),
    resolveTarget: () => async () => {
      delivered++;
    },
    ...(dataDir ? { dataDir } : {}),
  });
  events.putRule({ Name: 'all', EventBusName: BUS, EventPattern: '{"source":["bench"]}' });
  events.putTargets({
    Rule: 'all',
    EventBusName: BUS,
    Targets: [{ Id: 't', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:bench' }],
  });
  const entries = Array.from({ length: ENTRIES }, (_, i) => ({
    Source: 'bench',
    DetailType: 'Reading',
    EventBusName: BUS,
    Detail: JSON.stringify({ metadata: { eventId: `e-${i}` }, data: { deviceId: 'd-1', metrics: { t: i } } }),
  }));
  const started = performance.now();
  for (let call = 0; call < CALLS; call++) {
    events.putEvents({ Entries: entries });
    // Let deliveries run between calls, as they do between requests on the edge.
    if (call % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  const accepted = performance.now() - started;
  while (delivered < CALLS * ENTRIES) await new Promise((resolve) => setTimeout(resolve, 5));
  const all = performance.now() - started;
  await events.close(0);
  return {
    acceptedPerSecond: Math.round((CALLS * ENTRIES) / (accepted / 1000)),
    deliveredPerSecond: Math.round((CALLS * ENTRIES) / (all / 1000)),
  };
};

const dir = mkdtempSync(join(tmpdir(), 'sensorbus-put-events-'));
try {
  for (const [mode, dataDir] of [
    ['in memory', undefined],
    ['data folder', dir],
  ] as const) {
    const result = await measure(dataDir);
    console.log(
      `${mode}: ${result.acceptedPerSecond} events/s accepted, ${result.deliveredPerSecond} events/s delivered`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
