import { setFlagsFromString } from 'node:v8';

/**
 * How far each V8 heap of the local cloud's process may grow past what its last full collection
 * kept before it collects again: half as much again (V8's `--heap-growing-percent`). By default V8
 * picks a factor of up to four from how fast it collects against how fast the program allocates,
 * and the local cloud's thread allocates fast (every request's, event's and stream record's
 * objects): in the soak it kept 60-80 MB after a collection in a heap of 300-360 MB committed, the
 * largest share of the process's resident memory after the execution environments. At half as
 * much again, a 3-minute soak held this thread's heap at 103-144 MB committed and peaked at 769 MB
 * of resident memory, 17.2 readings/s accepted at a load average of 8.5, where it had committed
 * 220-300 MB and peaked at 885-985 MB at 12-21 readings/s.
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sets {@link HEAP_GROWING_PERCENT} for this process: every heap V8 sizes from then on, this
 * thread's and each execution environment's, collects sooner. Called first by the processes that
 * run the local cloud whole (`npm start`, the soak); V8 reads the flag whenever it sizes a heap.
 */
export const limitHeapGrowth = (): void => {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
};
