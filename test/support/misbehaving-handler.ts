/**
 * A Lambda handler that misbehaves on request, for tests of the local Lambda runtime's limits:
 * `loop` never yields, `allocate` keeps memory until the heap bound is hit, `throw` fails with a
 * named error, anything else is echoed at once.
 */
export const handler = async (event: unknown): Promise<unknown> => {
  const action = typeof event === 'object' && event !== null && 'action' in event ? event.action : undefined;
  if (action === 'loop') {
    for (;;) {
      // Spins without yielding: only ending the thread stops it.
    }
  }
  if (action === 'allocate') {
    const kept: number[][] = [];
    for (;;) kept.push(new Array(1_000_000).fill(kept.length));
  }
  if (action === 'throw') {
    throw Object.assign(new Error('No such device'), { name: 'DeviceNotFound' });
  }
  return { echoed: event };
};
