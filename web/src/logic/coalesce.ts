/**
 * Runs an async job so that a request made while it runs leads to exactly one more run after it.
 * A device's history sync uses it: a subscription acknowledged while a REST load is in flight must
 * be followed by a load that starts after the acknowledgement, or readings in between are missed.
 */
export const coalescing = (job: () => Promise<void>): (() => Promise<void>) => {
  let running: Promise<void> | undefined;
  let again = false;
  const run = async (): Promise<void> => {
    try {
      do {
        again = false;
        await job();
      } while (again);
    } finally {
      running = undefined;
    }
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = run();
    return running;
  };
};
