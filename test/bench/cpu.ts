import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * CPU time the main thread has run so far, in milliseconds, from Linux's per-thread scheduler
 * statistics (`/proc/<pid>/task/<tid>/schedstat`: nanoseconds on a CPU first); undefined where
 * there is no such file. Unlike throughput, CPU time per reading barely moves when other processes
 * compete for the machine's cores, so it explains a throughput ratio even on a busy machine.
 */
export const mainThreadCpuMs = (): number | undefined => {
  try {
    const onCpuNs = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(onCpuNs) ? onCpuNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
};

/** Main-thread CPU time between the first `start()` and the first `stop()` after it; call both on the main thread. */
export const cpuWindow = () => {
  let startedAt: number | undefined;
  let stoppedAt: number | undefined;
  return {
    start() {
      startedAt ??= mainThreadCpuMs();
    },
    stop() {
      if (startedAt !== undefined) stoppedAt ??= mainThreadCpuMs();
    },
    /** Undefined unless both ends were sampled. */
    get cpuMs(): number | undefined {
      return startedAt !== undefined && stoppedAt !== undefined ? stoppedAt - startedAt : undefined;
    },
  };
};

/**
 * Resolves `true` once the main thread has been mostly idle (below `maxShare` of a 250 ms window),
 * or `false` after `timeoutMs`: what one target left behind (asynchronous consumers working off
 * their events) must not be measured as the next target's cost.
 */
export const quiesce = async (timeoutMs: number, maxShare = 0.2): Promise<boolean> => {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const before = mainThreadCpuMs();
    const started = performance.now();
    await sleep(250);
    const after = mainThreadCpuMs();
    if (before === undefined || after === undefined) return true;
    if ((after - before) / (performance.now() - started) < maxShare) return true;
  }
  return false;
};
