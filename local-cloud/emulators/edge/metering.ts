/**
 * What the edge meters of the calls it serves besides DynamoDB's (see `dynamodb/capacity.ts`):
 * EventBridge custom events in 64 KB chunks of their entry size
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html), Step Functions
 * executions started, SNS publishes in 64 KB chunks (https://aws.amazon.com/sns/pricing/), and
 * WebSocket messages sent through the Management API in 32 KB chunks
 * (https://aws.amazon.com/api-gateway/pricing/).
 */
import { chunks, type Meter } from '../shared/meter.ts';

const KB64 = 64 * 1024;
const bytes = (text: unknown): number => (typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : 0);

/** A PutEvents entry's size as EventBridge bills it: Time (14 bytes), Source, DetailType, Detail and Resources. */
export const putEventsEntrySize = (entry: Record<string, unknown>): number =>
  (entry.Time !== undefined ? 14 : 0) +
  bytes(entry.Source) +
  bytes(entry.DetailType) +
  bytes(entry.Detail) +
  (Array.isArray(entry.Resources) ? entry.Resources.reduce((sum: number, r) => sum + bytes(r), 0) : 0);

/** Meters one JSON-protocol call (EventBridge, Step Functions) the edge is about to serve. */
export const meterJsonCall = (meter: Meter, service: string, operation: string, input: unknown): void => {
  const request = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  if (service === 'events' && operation === 'PutEvents' && Array.isArray(request.Entries)) {
    for (const entry of request.Entries)
      if (typeof entry === 'object' && entry !== null)
        meter.add('events/customEvents', chunks(putEventsEntrySize(entry as Record<string, unknown>), KB64));
  }
  if (service === 'states' && operation === 'StartExecution') meter.add('states/executions');
};

/** Meters one SNS Query-protocol call. */
export const meterSnsCall = (meter: Meter, params: URLSearchParams): void => {
  if (params.get('Action') === 'Publish')
    meter.add('sns/publishes', chunks(bytes(params.get('Message')) + bytes(params.get('Subject')), KB64));
};

/** Meters one message sent to a WebSocket connection. */
export const meterPostToConnection = (meter: Meter, body: Buffer): void =>
  meter.add('apigateway/websocketMessages', chunks(body.length, 32 * 1024));
