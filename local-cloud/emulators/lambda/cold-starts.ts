/**
 * How the local Lambda runtime paces cold starts on a machine that may be starved of CPU. A cold
 * start (a worker thread parsing and running its function's bundle) is CPU-bound: started beside one
 * another on a loaded machine they slow each other past the init limit, fail the invocations
 * waiting for them, and the retries start more of them. These rules keep that from cascading.
 */

/**
 * Lambda's limit on the init phase
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib).
 */
export const INIT_PHASE_LIMIT_MS = 10_000;

/**
 * How long an environment's init may run in all before the environment is ended. Lambda gives the
 * init phase 10 s and, when it outruns that, runs init again once at the first invocation, within
 * the function's timeout (a suppressed init). Locally the init goes on instead of starting over
 * (on a starved CPU starting over repeats the work that was nearly done), for the same total.
 */
export const initLimitMs = (functionTimeoutSeconds: number): number =>
  INIT_PHASE_LIMIT_MS + functionTimeoutSeconds * 1000;

/**
 * An init slower than this says the machine is starved: half the init phase, where a quiet
 * 2-core machine takes about a second.
 */
export const SLOW_INIT_MS = INIT_PHASE_LIMIT_MS / 2;

/**
 * The recent init duration the runtime paces by: an even blend of the latest and those before,
 * so one slow or quick init moves it halfway and two in a row settle it.
 */
export const recentInitMs = (recent: number | undefined, latestMs: number): number =>
  recent === undefined ? latestMs : (recent + latestMs) / 2;

/**
 * How many cold starts may run at once: `cores` while inits are quick, one while they are slow
 * (a waiting synchronous caller is throttled rather than answered by a burst of cold starts that
 * would all outrun the limit).
 */
export const coldStartSlots = (cores: number, recentMs: number | undefined): number =>
  recentMs !== undefined && recentMs > SLOW_INIT_MS ? 1 : Math.max(1, cores);

/**
 * Whether the invocations waiting for a function fail after one of its inits outran the limit.
 * Once, they keep waiting for the next environment (each within its caller's patience): on a
 * starved machine the next init usually makes it. Twice in a row, the init code itself hangs, and
 * they fail with the timeout as Lambda would fail them.
 */
export const failWaitingAfterInitTimeouts = (timeoutsInARow: number): boolean => timeoutsInARow >= 2;
