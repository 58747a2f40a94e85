import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, readingLogKeys } from '../../../../handlers/lib/logger.ts';

/** The JSON log lines the logger writes (warnings go to stderr) while `act` runs. */
const linesWritten = (act: () => void): Record<string, unknown>[] => {
  const lines: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
  }
  const level = logger().getLevelName();
  logger().setLogLevel('WARN');
  try {
    act();
  } finally {
    logger().setLogLevel(level);
  }
  vi.restoreAllMocks();
  return lines
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
};

describe('logger', () => {
  afterEach(() => vi.restoreAllMocks());

  it("carries a reading's time under readingTimestamp, where a timestamp key would be dropped", () => {
    const reading = { deviceId: 'greenhouse-1', timestamp: '2026-11-23T09:00:00.000Z' };

    const lines = linesWritten(() => {
      logger().warn('Reading could not be stored', {
        ...readingLogKeys(reading),
        error: new Error('throttled'),
      });
      logger().warn('Reading could not be stored', {
        deviceId: reading.deviceId,
        timestamp: reading.timestamp,
      });
    });

    const stored = lines.filter((line) => line.message === 'Reading could not be stored');
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({
      level: 'WARN',
      deviceId: 'greenhouse-1',
      readingTimestamp: '2026-11-23T09:00:00.000Z',
      error: { message: 'throttled' },
    });
    expect(stored[1]?.timestamp).not.toBe(reading.timestamp);
    expect(JSON.stringify(stored[1])).not.toContain(reading.timestamp);
  });
});
