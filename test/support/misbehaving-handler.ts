/**
 * A Lambda handler that misbehaves on request, for tests of the local Lambda runtime's limits:
 * `loop` never yields, `allocate` keeps memory until the heap bound is hit, `throw` fails with a
 * named error, `hold` waits until the file named by `until` exists and answers with the thread
 * (execution environment) it ran in, `churn` makes short-lived objects and answers the size of
 * its young generation, `stack` answers a stack trace taken here, anything else is echoed at once.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';

export const handler = async (event: unknown): Promise<unknown> => {
  const action = typeof event === 'object' && event !== null && 'action' in event ? event.action : undefined;
  if (action === 'hold') {
    const until = typeof event === 'object' && event !== null && 'until' in event ? event.until : undefined;
    if (typeof until !== 'string') throw new TypeError('hold needs the file to wait for in `until`');
    while (!existsSync(until)) await sleep(20);
    return { environment: threadId };
  }
  if (action === 'loop') {
    for (;;) {
      // Spins without yielding: only ending the thread stops it.
    }
  }
  if (action === 'allocate') {
    const kept: number[][] = [];
    for (;;) kept.push(new Array(1_000_000).fill(kept.length));
  }
  if (action === 'churn') {
    // Short-lived objects, many surviving a scavenge or two: what grows a young generation.
    const ring: { n: number; text: string }[] = new Array(200_000);
    for (let n = 0; n < 4_000_000; n++) ring[n % ring.length] = { n, text: `reading ${n}` };
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    return { newSpaceBytes: young?.space_size ?? 0, kept: ring.length };
  }
  if (action === 'stack') return { stack: new Error('Where the handler runs').stack };
  if (action === 'throw') {
    throw Object.assign(new Error('No such device'), { name: 'DeviceNotFound' });
  }
  return { echoed: event };
};
