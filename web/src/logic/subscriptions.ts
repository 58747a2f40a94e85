import type { SubscriptionRequest } from '../../../schemas/websocket.ts';

/** The WebSocket API takes at most this many device ids per subscribe message (`MAX_SUBSCRIBE_DEVICES`). */
export const MAX_DEVICES_PER_MESSAGE = 100;

/** Subscribe (or unsubscribe) messages for any number of devices, 100 ids per message, no duplicates. */
export const subscriptionMessages = (
  action: SubscriptionRequest['action'],
  deviceIds: readonly string[],
  perMessage: number = MAX_DEVICES_PER_MESSAGE,
): SubscriptionRequest[] => {
  const unique = [...new Set(deviceIds)];
  const messages: SubscriptionRequest[] = [];
  for (let i = 0; i < unique.length; i += perMessage) {
    messages.push({ action, deviceIds: unique.slice(i, i + perMessage) });
  }
  return messages;
};

/** The WebSocket URL with the viewer token, as the API's `$connect` authorizer expects it. */
export const socketUrl = (wsUrl: string, token: string): string =>
  `${wsUrl.replace(/\/+$/, '')}/?token=${encodeURIComponent(token)}`;
