import type { z } from 'zod/mini';
import type { ErrorMessage, SubscribedMessage } from '../../schemas/websocket.ts';
import { SubscriptionRequest } from '../../schemas/websocket.ts';
import { canSee, type Principal } from '../lib/auth.ts';
import { CONNECTION_LIFETIME_SECONDS } from '../lib/connections-store.ts';
import { detailsOf, shapeError } from '../lib/errors.ts';

export interface SubscriptionDeps {
  subscribe(connectionId: string, deviceIds: readonly string[]): Promise<void>;
  unsubscribe(connectionId: string, deviceIds: readonly string[]): Promise<void>;
  /**
   * Marks the devices watched until `until` (ISO time), so ingest tells them to stream; a device
   * already marked until `renewAfter` or later is left as it is.
   */
  markWatched(deviceIds: readonly string[], until: string, renewAfter: string): Promise<void>;
  now(): Date;
}

type Answer = z.infer<typeof SubscribedMessage> | z.infer<typeof ErrorMessage>;

const badRequest = (message: string, details?: { path: string; message: string }[]): Answer => ({
  type: 'error',
  code: 'BadRequest',
  message,
  ...(details ? { details } : {}),
});

/**
 * Handles one client message: subscribe or unsubscribe to devices the connection's token
 * grants. A subscribe naming any device outside the grant changes nothing and answers Forbidden.
 */
export const handleMessage = async (
  connectionId: string,
  principal: Principal,
  body: string | null | undefined,
  deps: SubscriptionDeps,
): Promise<Answer> => {
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(body ?? '');
  } catch {
    return badRequest('Messages must be JSON, e.g. {"action":"subscribe","deviceIds":["greenhouse-1"]}');
  }
  const badShape = shapeError(parsedJson, { prototypeKeys: true, subject: 'Message' });
  if (badShape) return badRequest(badShape.message, badShape.details);
  const action =
    typeof parsedJson === 'object' && parsedJson !== null && 'action' in parsedJson
      ? parsedJson.action
      : undefined;
  if (action !== 'subscribe' && action !== 'unsubscribe') {
    const shown = typeof action === 'string' ? JSON.stringify(action.slice(0, 40)) : typeof action;
    return badRequest(
      `Unknown action ${action === undefined ? '(none)' : shown}; use "subscribe" or "unsubscribe"`,
      [{ path: 'action', message: 'must be "subscribe" or "unsubscribe"' }],
    );
  }
  const request = SubscriptionRequest.safeParse(parsedJson);
  if (!request.success) return badRequest('Message is not valid', detailsOf(request.error.issues));
  const deviceIds = [...new Set(request.data.deviceIds)];
  if (request.data.action === 'unsubscribe') {
    await deps.unsubscribe(connectionId, deviceIds);
    return { type: 'unsubscribed', deviceIds };
  }
  const forbidden = deviceIds.filter((deviceId) => !canSee(principal, deviceId));
  if (forbidden.length > 0) {
    return {
      type: 'error',
      code: 'Forbidden',
      message: `This token does not grant access to ${forbidden.join(', ')}`,
      deviceIds: forbidden,
    };
  }
  // The connection lasts at most its lifetime from connect, which was before now: the devices
  // are watched no longer than this, and may be marked a little past the last watcher leaving.
  const now = deps.now().getTime();
  const until = new Date(now + CONNECTION_LIFETIME_SECONDS * 1000).toISOString();
  // Left alone when marked at least this far ahead: at most one write per device per minute.
  const renewAfter = new Date(now + (CONNECTION_LIFETIME_SECONDS - 60) * 1000).toISOString();
  // Both writes at once: the answer waits for the slower, not for their sum.
  await Promise.all([
    deps.subscribe(connectionId, deviceIds),
    deps.markWatched(deviceIds, until, renewAfter),
  ]);
  return { type: 'subscribed', deviceIds };
};
