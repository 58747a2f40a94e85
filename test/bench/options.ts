import { parseArgs } from 'node:util';

/** What one `npm run bench` measures with, from its command line. */
export interface BenchOptions {
  /** Concurrency C: open connections (HTTP) or calls in flight (PutItem) per target. */
  readonly connections: number;
  /** How long each target is measured, after its warm-up. */
  readonly durationSeconds: number;
  /** How long each target is loaded, unmeasured, before it is measured. */
  readonly warmupSeconds: number;
  readonly quick: boolean;
  /** WebSocket clients following the end-to-end devices. */
  readonly e2eClients: number;
  /** Readings per second of the end-to-end run; by default half the whole system's single-reading rate. */
  readonly e2eRate: number | undefined;
  /** How long the end-to-end run posts, after its warm-up. */
  readonly e2eSeconds: number;
  /**
   * How long the end-to-end run waits, after the last post, for the pushes still on their way. The
   * wait ends once every push is in, so it costs a healthy run nothing; --quick waits as long, as
   * its workflow functions start cold after the ingest path ran with every consumer off.
   */
  readonly e2eDrainSeconds: number;
  /** Fresh `node` processes per handler bundle whose init time is measured (the median is kept). */
  readonly initRuns: number;
}

/**
 * Fresh processes per bundle whose init is timed. One process's init varies by ±20 % on this
 * machine kind (the same bundle, the same minute), so a median of 5 moved a function's ratio to the
 * baseline by ±0.2 between runs, more than most functions' distance from the target; 15 take about
 * a minute and a half.
 */
const INIT_RUNS = 15;

/** A loaded 2-core machine took 5 to 20 s for a cold workflow's first push. */
const E2E_DRAIN_SECONDS = 30;

export const USAGE = `npm run bench -- [--quick] [--connections N] [--duration S] [--warmup S]
                        [--e2e-clients N] [--e2e-rate R] [--e2e-seconds S] [--init-runs N]

  --quick          3 s per target after a 1 s warm-up (6 s for the storage ceiling and the first
                   ingest target, for V8 to compile), 3 s end to end, 1 init run (under a minute)
  --connections N  concurrency C of every target (default 16)
  --duration S     seconds each target is measured (default 20, 3 with --quick)
  --warmup S       seconds each target is warmed up first (default 3, 1 with --quick)
  --e2e-clients N  WebSocket clients following the end-to-end devices (default 50)
  --e2e-rate R     readings/s posted end to end (default half the whole system's single-reading
                   rate, at least 5, at most 500 pushes/s: one ReadingEnriched per reading and
                   client, so 10 with 50 clients)
  --e2e-seconds S  seconds the end-to-end run is measured (default --duration, 3 with --quick)
  --init-runs N    fresh node processes per handler bundle for its init time (default 15, 1 with --quick)`;

const positive = (name: string, raw: string | undefined, fallback: number, max: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new RangeError(`--${name} must be a number in (0, ${max}], not ${raw}`);
  }
  return value;
};

/** Reads the bench's flags; throws a `RangeError` naming the bad flag. `undefined` asks for the usage. */
export const parseBenchOptions = (args: readonly string[]): BenchOptions | undefined => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string', short: 'c' },
      duration: { type: 'string', short: 'd' },
      warmup: { type: 'string', short: 'w' },
      'e2e-clients': { type: 'string' },
      'e2e-rate': { type: 'string' },
      'e2e-seconds': { type: 'string' },
      'init-runs': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const durationSeconds = positive('duration', values.duration, quick ? 3 : 20, 600);
  return {
    quick,
    connections: Math.round(positive('connections', values.connections, 16, 1024)),
    durationSeconds,
    warmupSeconds: positive('warmup', values.warmup, quick ? 1 : 3, 60),
    e2eClients: Math.round(positive('e2e-clients', values['e2e-clients'], 50, 1000)),
    e2eRate: values['e2e-rate'] === undefined ? undefined : positive('e2e-rate', values['e2e-rate'], 0, 1000),
    e2eSeconds: positive('e2e-seconds', values['e2e-seconds'], quick ? 3 : durationSeconds, 600),
    e2eDrainSeconds: E2E_DRAIN_SECONDS,
    initRuns: Math.round(positive('init-runs', values['init-runs'], quick ? 1 : INIT_RUNS, 50)),
  };
};
