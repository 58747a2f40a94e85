/**
 * A Lambda handler that holds its invocation until a file exists, for tests of concurrency limits:
 * an event `{"holdUntil": "<file>"}` (directly, as an EventBridge event's `detail`, or as the JSON
 * body of an API Gateway event) waits for that file, then answers; every invocation appends its
 * event's `id` (or `received`) to the file named by `log`, so a test sees which deliveries ran and
 * how often; with `"fail": true` it then fails (a function error). An API Gateway event is
 * answered as a proxy integration answers (`{statusCode, body}`).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const field = (value: unknown, name: string): unknown =>
  typeof value === 'object' && value !== null && name in value
    ? (value as Record<string, unknown>)[name]
    : undefined;

/** What a gateway event's body says, or nothing when it is not JSON. */
const bodyOf = (event: unknown): unknown => {
  const body = field(event, 'body');
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

export const handler = async (event: unknown): Promise<unknown> => {
  const fromGateway = field(event, 'requestContext') !== undefined;
  const detail = field(event, 'detail') ?? (fromGateway ? bodyOf(event) : event);
  const holdUntil = field(detail, 'holdUntil');
  const log = field(detail, 'log');
  if (typeof holdUntil === 'string') while (!existsSync(holdUntil)) await sleep(20);
  if (typeof log === 'string') appendFileSync(log, `${String(field(event, 'id') ?? 'received')}\n`);
  if (field(detail, 'fail') === true)
    throw Object.assign(new Error('Asked to fail'), { name: 'AskedToFail' });
  return fromGateway ? { statusCode: 200, body: JSON.stringify({ ran: true }) } : { ran: true };
};
