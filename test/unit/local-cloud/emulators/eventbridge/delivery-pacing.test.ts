import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalEventBridge,
  type TargetInvoker,
} from '../../../../../local-cloud/emulators/eventbridge/service.ts';
import { Faults } from '../../../../../local-cloud/emulators/shared/faults.ts';
import { SqsDeadLetterQueues } from '../../../../../local-cloud/emulators/sqs/dead-letter-queues.ts';
import { LocalSqs } from '../../../../../local-cloud/emulators/sqs/sqs.ts';
import { waitFor } from '../../../../support/local-cloud.ts';

const BUS = 'pacing-test';
const SLOW = 'arn:aws:lambda:us-east-1:000000000000:function:slow';
const QUICK = 'arn:aws:lambda:us-east-1:000000000000:function:quick';

const started: LocalEventBridge[] = [];
afterEach(async () => {
  for (const events of started.splice(0)) await events.close(0);
});

/** One rule with two targets: every event is a delivery to each. */
const start = (invokers: Record<string, TargetInvoker>) => {
  const events = new LocalEventBridge({
    region: 'us-east-1',
    accountId: '000000000000',
    busNames: [BUS],
    archivedBuses: [],
    faults: new Faults(),
    deadLetters: new SqsDeadLetterQueues(
      new LocalSqs({ region: 'us-east-1', accountId: '000000000000', publicUrl: () => '' }),
    ),
    resolveTarget: (arn) => invokers[arn],
    maxConcurrentDeliveries: 4,
  });
  started.push(events);
  events.putRule({ Name: 'both', EventBusName: BUS, EventPattern: '{"source":["test.pacing"]}' });
  events.putTargets({
    Rule: 'both',
    EventBusName: BUS,
    Targets: [
      { Id: 'slow', Arn: SLOW },
      { Id: 'quick', Arn: QUICK },
    ],
  });
  return events;
};

describe('the local EventBridge pacing its deliveries', () => {
  it("keeps delivering to a target while another target holds its events (its function's environments all busy)", async () => {
    const held: (() => void)[] = [];
    let holding = true;
    const quick: number[] = [];
    const events = start({
      [SLOW]: () => (holding ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve()),
      [QUICK]: async (_payload, event) => void quick.push(Number(event.detail.n)),
    });

    for (let n = 0; n < 10; n++)
      events.putEvents({
        Entries: [
          { Source: 'test.pacing', DetailType: 'Thing', Detail: JSON.stringify({ n }), EventBusName: BUS },
        ],
      });
    await waitFor(() => quick.length === 10, 'every delivery to the quick target');
    const slowUnderWay = held.length;
    holding = false;
    for (const release of held.splice(0)) release();
    await waitFor(() => events.pendingCount() === 0, 'every delivery done');

    expect(quick.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(slowUnderWay).toBe(2);
  });
});
