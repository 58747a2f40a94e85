import { describe, expect, it } from 'vitest';
import {
  handlerLogNotice,
  type Notice,
  noticeLimiter,
  verboseLine,
} from '../../../../local-cloud/launcher/console-log.ts';

const refused: Notice = {
  source: 'simulator',
  counted: { one: 'post failed', many: 'posts failed' },
  reason: 'fetch failed: ECONNREFUSED',
  message: 'greenhouse-1: POST /readings failed: fetch failed: ECONNREFUSED',
};
const unavailable: Notice = {
  ...refused,
  reason: '503 ServiceUnavailable',
  message: 'cold-room-1: answered 503',
};

describe('the notice limiter', () => {
  it('prints the first notice of a kind in full, then sums its repeats up once per interval', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });

    const printed = Array.from({ length: 1204 }, () => limiter.admit(refused)).filter((line) => line);

    expect(printed).toEqual(['simulator: greenhouse-1: POST /readings failed: fetch failed: ECONNREFUSED']);
    expect(limiter.endInterval()).toEqual([
      'simulator: 1,204 posts failed in the last 10 s (fetch failed: ECONNREFUSED)',
    ]);
  });

  it('says nothing more about a notice that did not repeat', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });
    expect(limiter.admit(refused)).toBeDefined();
    expect(limiter.endInterval()).toEqual([]);
  });

  it('counts each cause on its own, in the singular when it happened once in an interval', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });
    limiter.admit(refused);
    limiter.admit(refused);
    expect(limiter.admit(unavailable)).toBe('simulator: cold-room-1: answered 503');
    limiter.endInterval();

    limiter.admit(unavailable);

    expect(limiter.endInterval()).toEqual([
      'simulator: 1 post failed in the last 10 s (503 ServiceUnavailable)',
    ]);
  });

  it('prints a kind in full again once it stayed quiet for a whole interval', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });
    limiter.admit(refused);
    limiter.admit(refused);
    limiter.endInterval();
    expect(limiter.admit(refused)).toBeUndefined();
    limiter.endInterval();
    limiter.endInterval();

    expect(limiter.admit(refused)).toBe(
      'simulator: greenhouse-1: POST /readings failed: fetch failed: ECONNREFUSED',
    );
  });

  it('keeps a flood of SDK timeouts to a line per interval: 450,000 over 6 minutes print 37 lines', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });
    const timeout = handlerLogNotice(
      JSON.stringify({
        level: 'WARN',
        message: 'Reading could not be stored',
        service: 'sensorbus',
        error: { name: 'TimeoutError', message: 'Socket timed out', stack: 'TimeoutError: ...' },
      }),
    );
    const lines: string[] = [];

    for (let interval = 0; interval < 36; interval++) {
      for (let i = 0; i < 12_500; i++) {
        const line = limiter.admit(timeout);
        if (line) lines.push(line);
      }
      lines.push(...limiter.endInterval());
    }

    expect(lines).toHaveLength(37);
    expect(lines[0]).toBe('handlers: WARN Reading could not be stored (TimeoutError: Socket timed out)');
    expect(lines[1]).toBe(
      'handlers: 12,500 warnings in the last 10 s (Reading could not be stored: TimeoutError)',
    );
  });

  it('counts causes past the limit of kinds together, so ids in a reason cannot flood the console', () => {
    const limiter = noticeLimiter({ intervalMs: 5_000, maxKinds: 2 });
    const lines = [1, 2, 3, 4, 5].map((n) => limiter.admit({ ...refused, reason: `device ${n}` }));

    expect(lines.filter((line) => line !== undefined)).toHaveLength(3);
    expect(limiter.endInterval()).toEqual(['simulator: 3 posts failed in the last 5 s (other causes)']);
  });
});

describe('handler log lines', () => {
  it('are read as Powertools Logger writes them, and shown whole only when verbose', () => {
    const line = JSON.stringify({
      level: 'ERROR',
      message: 'Unhandled error',
      service: 'sensorbus',
      error: { name: 'ValidationException', message: 'One or more parameter values were invalid' },
    });

    const notice = handlerLogNotice(line);

    expect(notice).toMatchObject({
      source: 'handlers',
      counted: { one: 'error', many: 'errors' },
      reason: 'Unhandled error: ValidationException',
      message: 'ERROR Unhandled error (ValidationException: One or more parameter values were invalid)',
    });
    expect(verboseLine(notice)).toBe(`handlers: ${line}`);
  });

  it('pass other output on as it is, grouped whatever numbers it carries', () => {
    const limiter = noticeLimiter({ intervalMs: 10_000 });
    const sdkWarning = (queued: number) =>
      handlerLogNotice(
        `@smithy/node-http-handler:WARN - socket usage at capacity=50 and ${queued} additional requests are enqueued.`,
      );

    expect(limiter.admit(sdkWarning(930))).toBe(
      'handlers: @smithy/node-http-handler:WARN - socket usage at capacity=50 and 930 additional requests are enqueued.',
    );
    expect(limiter.admit(sdkWarning(1200))).toBeUndefined();
    expect(limiter.endInterval()).toEqual([
      'handlers: 2 log lines in the last 10 s (@smithy/node-http-handler:WARN - socket usage at capacity=N and N additional requests are enqueued.)',
    ]);
  });
});
