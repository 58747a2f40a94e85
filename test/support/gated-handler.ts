/**
 * A Lambda handler that holds its invocation until a file exists, for tests of concurrency limits:
 * an event `{"holdUntil": "<file>"}` (directly, or as an EventBridge event's `detail`) waits for
 * that file, then answers; every invocation appends its event's `id` (or `received`) to the file
 * named by `log`, so a test sees which deliveries ran and how often; with `"fail": true` it then
 * fails (a function error).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const field = (value: unknown, name: string): unknown =>
  typeof value === 'object' && value !== null && name in value
    ? (value as Record<string, unknown>)[name]
    : undefined;

export const handler = async (event: unknown): Promise<unknown> => {
  const detail = field(event, 'detail') ?? event;
  const holdUntil = field(detail, 'holdUntil');
  const log = field(detail, 'log');
  if (typeof holdUntil === 'string') while (!existsSync(holdUntil)) await sleep(20);
  if (typeof log === 'string') appendFileSync(log, `${String(field(event, 'id') ?? 'received')}\n`);
  if (field(detail, 'fail') === true)
    throw Object.assign(new Error('Asked to fail'), { name: 'AskedToFail' });
  return { ran: true };
};
