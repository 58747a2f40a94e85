/**
 * The AWS service limits the handlers work within, spelled once. The generic emulators under
 * `local-cloud/emulators/` enforce the same limits with their own copy, as they import nothing of
 * sensorbus.
 */

/** PutEvents takes at most 10 entries and 256 KiB per call (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** API Gateway WebSocket frames are at most 128 KiB (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
export const WEBSOCKET_FRAME_MAX_BYTES = 128 * 1024;

/**
 * EventBridge bills each 64 KB chunk of an event entry as one event
 * (https://aws.amazon.com/eventbridge/pricing/): events that carry many readings are kept under it.
 */
export const EVENT_BILLING_CHUNK_BYTES = 64 * 1024;
