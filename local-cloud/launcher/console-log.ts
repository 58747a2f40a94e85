/**
 * Keeps `npm start`'s console readable when something fails over and over: the first notice of a
 * kind is printed in full, its repeats are only counted, and when an interval ends one line per
 * kind says how many there were. Under load a failing dependency used to print one line per
 * request (hundreds of thousands of SDK timeouts); now it prints one line per kind per interval.
 * Pure: the caller owns the clock and the console.
 */
import { z } from 'zod';

/** How a repeated notice is counted, in the singular and the plural. */
export interface Countable {
  readonly one: string;
  readonly many: string;
}

/** Something worth telling the person at the console. */
export interface Notice {
  /** Who says it: `simulator`, `eventbridge`, `handlers`. */
  readonly source: string;
  /** What the summary counts, e.g. post failed / posts failed. */
  readonly counted: Countable;
  /**
   * The cause that groups repeats into one kind (`fetch failed: ECONNREFUSED`). Keep it free of
   * ids and times, or every notice becomes a kind of its own.
   */
  readonly reason: string;
  /** The whole story, printed for the first notice of its kind. */
  readonly message: string;
  /** Everything there is (a handler's whole JSON log line), printed only by `--verbose`; `message` when absent. */
  readonly detail?: string;
}

export interface NoticeLimiter {
  /** The line to print now for this notice, or `undefined` when it is only counted. */
  admit(notice: Notice): string | undefined;
  /**
   * Ends an interval: one line per kind that repeated in it. A kind that stayed quiet for a whole
   * interval is forgotten, so its next notice is printed in full again.
   */
  endInterval(): string[];
}

export interface NoticeLimiterOptions {
  /** The length of an interval, as the summaries name it. */
  readonly intervalMs: number;
  /** Past this many kinds at once, new kinds of a source are counted together as "other causes". */
  readonly maxKinds?: number;
}

const count = (n: number): string => n.toLocaleString('en-US');

const seconds = (ms: number): string => `${count(Math.round(ms / 100) / 10)} s`;

/** The line a notice prints as, in full. */
export const noticeLine = (notice: Notice): string => `${notice.source}: ${notice.message}`;

/** Prints every notice's whole detail: what `--verbose` shows. */
export const verboseLine = (notice: Notice): string => `${notice.source}: ${notice.detail ?? notice.message}`;

export const noticeLimiter = (options: NoticeLimiterOptions): NoticeLimiter => {
  const maxKinds = options.maxKinds ?? 50;
  const kinds = new Map<string, { notice: Notice; count: number; printed: boolean }>();

  const keyOf = (notice: Notice) => `${notice.source}\u0000${notice.counted.many}\u0000${notice.reason}`;

  return {
    admit(given) {
      let notice = given;
      let key = keyOf(notice);
      if (!kinds.has(key) && kinds.size >= maxKinds) {
        notice = { ...given, reason: 'other causes' };
        key = keyOf(notice);
      }
      const kind = kinds.get(key);
      if (kind) {
        kind.count += 1;
        return undefined;
      }
      kinds.set(key, { notice, count: 1, printed: true });
      return noticeLine(notice);
    },
    endInterval() {
      const lines: string[] = [];
      for (const [key, kind] of kinds) {
        if (kind.count === 0) {
          kinds.delete(key);
          continue;
        }
        if (!(kind.printed && kind.count === 1)) {
          const { source, counted, reason } = kind.notice;
          const what = kind.count === 1 ? counted.one : counted.many;
          lines.push(
            `${source}: ${count(kind.count)} ${what} in the last ${seconds(options.intervalMs)} (${reason})`,
          );
        }
        kind.count = 0;
        kind.printed = false;
      }
      return lines;
    },
  };
};

const COUNTED_BY_LEVEL: Record<string, Countable> = {
  WARN: { one: 'warning', many: 'warnings' },
  ERROR: { one: 'error', many: 'errors' },
  CRITICAL: { one: 'critical error', many: 'critical errors' },
};

const LOG_LINE: Countable = { one: 'log line', many: 'log lines' };

/** The fields of a Powertools Logger line that say what went wrong. */
const PowertoolsLine = z.object({
  level: z.string().default('LOG'),
  message: z.string(),
  error: z
    .object({ name: z.string().optional(), message: z.string().optional() })
    .optional()
    .catch(undefined),
});

const parseJson = (line: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/**
 * A notice of one line a handler wrote: Powertools Logger writes one JSON object per line
 * (https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/); anything else is
 * passed on as it is.
 */
export const handlerLogNotice = (line: string): Notice => {
  const parsed = PowertoolsLine.safeParse(parseJson(line));
  if (!parsed.success) {
    const short = line.length > 120 ? `${line.slice(0, 117)}...` : line;
    // Counts vary from one line to the next (`930 additional requests are enqueued`); the kind does not.
    const reason = short.replace(/\d+/g, 'N');
    return { source: 'handlers', counted: LOG_LINE, reason, message: short, detail: line };
  }
  const { level, message, error } = parsed.data;
  const cause = error?.name ? ` (${error.name}${error.message ? `: ${error.message}` : ''})` : '';
  return {
    source: 'handlers',
    counted: COUNTED_BY_LEVEL[level] ?? { one: `${level} line`, many: `${level} lines` },
    reason: `${message}${error?.name ? `: ${error.name}` : ''}`,
    message: `${level} ${message}${cause}`,
    detail: line,
  };
};
