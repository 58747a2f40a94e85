/**
 * A value read at the first call and kept for the execution environment's life: what a handler
 * would otherwise read at init with a top-level await, which every cold start then waits for,
 * whether or not its first invocation needs it. Calls made while the read is in flight share it;
 * a failed read is not kept, so the next call tries again instead of every later invocation of
 * the environment failing with the first one's error.
 */
export const readOnce = <T>(read: () => Promise<T>): (() => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => {
    value ??= read().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
};
