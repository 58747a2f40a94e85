import * as z from 'zod/mini';
import { DeviceId } from '../../schemas/common.ts';
import { EVENT_NAMES, EventMetadata } from '../../schemas/events.ts';
import type { PushMessage } from '../../schemas/websocket.ts';
import { WEBSOCKET_FRAME_MAX_BYTES } from '../lib/aws-limits.ts';
import { mapWithLimit } from '../lib/concurrency.ts';

/** Posts at most this many messages at once, so one event to many dashboards stays bounded. */
export const PUSH_CONCURRENCY = 32;

const PushableEvent = z.object({
  'detail-type': z.enum(EVENT_NAMES),
  time: z.string(),
  detail: z.object({ metadata: EventMetadata, data: z.looseObject({ deviceId: DeviceId }) }),
});

/** The dashboard message of a bus event, or undefined when the event is not one dashboards show. */
export const toPushMessage = (event: unknown): PushMessage | undefined => {
  const parsed = PushableEvent.safeParse(event);
  if (!parsed.success) return undefined;
  const { detail } = parsed.data;
  return {
    type: parsed.data['detail-type'],
    deviceId: detail.data.deviceId,
    eventId: detail.metadata.eventId,
    time: detail.metadata.producedAt,
    data: detail.data,
  };
};

export interface PushDeps {
  subscribers(deviceId: string): Promise<string[]>;
  /** Sends one message; resolves `gone` when the connection no longer exists. */
  post(connectionId: string, message: string): Promise<'sent' | 'gone'>;
  forget(connectionId: string): Promise<void>;
  warn(message: string, context: Record<string, unknown>): void;
}

export interface PushReport {
  readonly sent: number;
  readonly gone: number;
  readonly failed: number;
}

/**
 * Sends a message to every connection subscribed to its device, `PUSH_CONCURRENCY` at a time.
 * A connection that is gone is forgotten; one that fails otherwise is logged and skipped, so a
 * dead or slow client never holds the others back.
 */
export const push = async (message: PushMessage, deps: PushDeps): Promise<PushReport> => {
  const text = JSON.stringify(message);
  if (Buffer.byteLength(text) > WEBSOCKET_FRAME_MAX_BYTES) {
    deps.warn('Message exceeds the WebSocket frame limit; not pushed', { eventId: message.eventId });
    return { sent: 0, gone: 0, failed: 0 };
  }
  const connections = await deps.subscribers(message.deviceId);
  const outcomes = await mapWithLimit(connections, PUSH_CONCURRENCY, async (connectionId) => {
    try {
      if ((await deps.post(connectionId, text)) === 'sent') return 'sent';
      await deps.forget(connectionId);
      return 'gone';
    } catch (error) {
      deps.warn('Push to a connection failed', { connectionId, error });
      return 'failed';
    }
  });
  const count = (outcome: (typeof outcomes)[number]) => outcomes.filter((o) => o === outcome).length;
  return { sent: count('sent'), gone: count('gone'), failed: count('failed') };
};
