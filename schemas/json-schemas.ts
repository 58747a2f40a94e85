import * as z from 'zod/mini';
import { CreateAlertSubscriptionRequest } from './alert-subscription.ts';
import { Device, PutDeviceRequest } from './device.ts';
import { ErrorBody } from './error.ts';
import { EVENTS, PAST_EVENT_VERSIONS } from './events.ts';
import {
  AcceptedReading,
  AggregatesPage,
  IngestBatchAnswer,
  IngestReadingAnswer,
  IngestRequest,
  Reading,
  ReadingsPage,
} from './reading.ts';
import { CreateTokenRequest } from './token.ts';

/** Every published schema, by file name: API bodies for device makers, event details for the schema registry. */
export const PUBLISHED_SCHEMAS: Record<string, z.ZodMiniType> = {
  reading: Reading,
  'ingest-request': IngestRequest,
  'accepted-reading': AcceptedReading,
  'ingest-reading-answer': IngestReadingAnswer,
  'ingest-batch-answer': IngestBatchAnswer,
  'readings-page': ReadingsPage,
  'aggregates-page': AggregatesPage,
  'put-device-request': PutDeviceRequest(),
  device: Device,
  'create-token-request': CreateTokenRequest,
  'create-alert-subscription-request': CreateAlertSubscriptionRequest,
  'error-body': ErrorBody,
  ...Object.fromEntries(
    [...PAST_EVENT_VERSIONS, ...Object.values(EVENTS)].map((event) => [
      `events/${event.detailType}.v${event.version}`,
      event.detail,
    ]),
  ),
};

/** The JSON Schema text committed under `schemas/json/` for one published schema. */
export const renderJsonSchema = (name: string, schema: z.ZodMiniType): string =>
  `${JSON.stringify({ $id: `urn:sensorbus:schema:${name}`, ...z.toJSONSchema(schema, { io: 'input' }) }, null, 2)}\n`;
