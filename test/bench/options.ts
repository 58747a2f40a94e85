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
}

export const USAGE = `npm run bench -- [--quick] [--connections N] [--duration S] [--warmup S]

  --quick          4 s per target after a 1 s warm-up (under a minute in all)
  --connections N  concurrency C of every target (default 16)
  --duration S     seconds each target is measured (default 20, 4 with --quick)
  --warmup S       seconds each target is warmed up first (default 3, 1 with --quick)`;

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
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  return {
    quick,
    connections: Math.round(positive('connections', values.connections, 16, 1024)),
    durationSeconds: positive('duration', values.duration, quick ? 4 : 20, 600),
    warmupSeconds: positive('warmup', values.warmup, quick ? 1 : 3, 60),
  };
};
