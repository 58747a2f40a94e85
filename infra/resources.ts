/**
 * What the flow runs on: tables, buses, topics, queues and secrets. `infra/topology.ts` wires them into the
 * flow; the CDK stacks and the local cloud create them from here.
 */
import { INDEX } from '../handlers/lib/table-indexes.ts';
import { HISTORY_REACH_DAYS } from '../schemas/reading.ts';
import type { BusSpec, QueueSpec, SecretSpec, TableSpec, TopicSpec } from './topology-types.ts';

/** How long readings, and their enrichment, are kept after their timestamp. */
const READINGS_RETENTION = { days: HISTORY_REACH_DAYS.readings, env: 'READINGS_RETENTION_DAYS' } as const;

export const tables = {
  /** Registered devices, their hashed API key, last reading and alarm states. */
  devices: {
    name: 'sensorbus-devices',
    env: 'DEVICES_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    indexes: [
      {
        name: INDEX.devicesByApiKeyHash,
        partitionKey: { name: 'apiKeyHash', type: 'S' },
        projection: 'KEYS_ONLY',
      },
    ],
  },
  /**
   * Device API keys by the SHA-256 of the key, read strongly consistent by the ingest
   * function on every request, so that a deleted device's key or a rotated key past its grace
   * is refused at once. `validUntil` (ISO time) is set only on a key being retired; `expiresAt`
   * lets DynamoDB remove retired keys a day after they stopped working.
   */
  deviceKeys: {
    name: 'sensorbus-device-keys',
    env: 'DEVICE_KEYS_TABLE',
    partitionKey: { name: 'apiKeyHash', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiresAt',
  },
  /**
   * WebSocket connections (`sk = connection`) and their subscriptions (`sk = device#<id>`, with
   * `deviceId` set, so `byDevice` is a sparse index from a device to the connections that follow it).
   * Every item expires two hours after connect, API Gateway's longest connection.
   */
  connections: {
    name: 'sensorbus-connections',
    env: 'CONNECTIONS_TABLE',
    partitionKey: { name: 'connectionId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: [
      {
        name: INDEX.connectionsByDevice,
        partitionKey: { name: 'deviceId', type: 'S' },
        sortKey: { name: 'connectionId', type: 'S' },
        projection: 'KEYS_ONLY',
      },
    ],
    timeToLiveAttribute: 'expiresAt',
  },
  /** Alert history: one record per alert, active until resolved. */
  alerts: {
    name: 'sensorbus-alerts',
    env: 'ALERTS_TABLE',
    partitionKey: { name: 'alertId', type: 'S' },
    indexes: [
      {
        name: INDEX.alertsByDevice,
        partitionKey: { name: 'deviceId', type: 'S' },
        sortKey: { name: 'updatedAt', type: 'S' },
        projection: 'ALL',
      },
      {
        name: INDEX.alertsByState,
        partitionKey: { name: 'state', type: 'S' },
        sortKey: { name: 'updatedAt', type: 'S' },
        projection: 'ALL',
      },
    ],
  },
  /** Powertools idempotency records: one per consumed event whose side effect must happen once. */
  idempotency: {
    name: 'sensorbus-idempotency',
    env: 'IDEMPOTENCY_TABLE',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiration',
  },
  /**
   * Readings keyed by `(deviceId, timestamp)`: the conditional put on this key is the idempotency
   * check. Each reading expires `retention.days` after its timestamp (`expiresAt`, DynamoDB TTL); a
   * reading already older than that is refused.
   */
  readings: {
    name: 'sensorbus-readings',
    env: 'READINGS_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'timestamp', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiresAt',
    retention: READINGS_RETENTION,
    /**
     * The stream is the outbox (change data capture): each new reading is an INSERT of its reading
     * item, or the INSERT or MODIFY of its hour item that packed it (a repeated POST writes
     * nothing, so makes none); the old image tells which readings a MODIFY added
     * (`handlers/lib/readings-stream.ts`). Both consumers take INSERTs and MODIFYs, so the TTL's
     * REMOVEs invoke neither (the enrichment and its errors go to the enrichments table, which has
     * no stream).
     */
    stream: {
      viewType: 'NEW_AND_OLD_IMAGES',
      consumers: [
        /**
         * Announces each upload's new readings (`ReadingRecorded` v2) as soon as they are stored:
         * no batching window, so the live view waits for nothing. A failed batch is retried whole
         * until the bus takes it or the records leave the stream (24 h; their metadata then goes to
         * the dead-letter queue): a bounded retry would skip announcements during a long bus
         * outage. It is not bisected: a half regroups an upload's readings into other sets, whose
         * events would carry new ids, and consumers dedupe by id.
         */
        {
          function: 'announce',
          batchSize: 100,
          maximumBatchingWindowSeconds: 0,
          maximumRetryAttempts: -1,
          bisectBatchOnFunctionError: false,
          reportBatchItemFailures: false,
          onFailure: 'sensorbus-announce-stream-dlq',
          filters: [{ eventName: ['INSERT', 'MODIFY'] }],
        },
        /**
         * Folds a batch's readings into one write per bucket. The window gathers a few seconds of
         * readings per invocation; the dashboard's live view comes over WebSocket, not from the
         * rollups, so it waits for nothing.
         */
        {
          function: 'rollups',
          batchSize: 1000,
          maximumBatchingWindowSeconds: 2,
          maximumRetryAttempts: 10,
          bisectBatchOnFunctionError: false,
          reportBatchItemFailures: true,
          onFailure: 'sensorbus-rollups-stream-dlq',
          filters: [{ eventName: ['INSERT', 'MODIFY'] }],
        },
      ],
    },
  },
  /**
   * The readings' enrichment (`handlers/lib/enrichments-store.ts`), apart from them: one item per
   * device, UTC hour and set of readings enriched together (`slot` = `<hour start>#<set id>`), so
   * an upload is one write per hour its readings span instead of one update per reading. Kept as
   * long as the readings of its hour.
   */
  enrichments: {
    name: 'sensorbus-enrichments',
    env: 'ENRICHMENTS_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'slot', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiresAt',
    retention: READINGS_RETENTION,
  },
  /**
   * Rollups of the readings (`handlers/lib/rollups.ts`): per device and stored bucket size
   * (`series` = `<deviceId>#<size>`) and bucket start, each metric's min, max, sum, count, first
   * and last. 6h buckets are kept `retention.days` after the bucket starts, longer than the raw
   * readings, so history charts reach back a year after the readings expired; 1h buckets a quarter
   * (`retentionDaysOf` in `handlers/lib/rollups.ts`).
   */
  rollups: {
    name: 'sensorbus-rollups',
    env: 'ROLLUPS_TABLE',
    partitionKey: { name: 'series', type: 'S' },
    sortKey: { name: 'start', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiresAt',
    retention: { days: HISTORY_REACH_DAYS.rollups, env: 'ROLLUPS_RETENTION_DAYS' },
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;

export const buses = {
  /** Domain events: every fact the system learns lands here first. */
  telemetry: { name: 'sensorbus-telemetry', env: 'TELEMETRY_BUS', archived: true },
  /** Only what dashboards are pushed; decouples WebSocket fan-out from domain consumers. */
  websocket: { name: 'sensorbus-websocket', env: 'WEBSOCKET_BUS', archived: false },
} as const satisfies Record<string, BusSpec>;

export type BusName = keyof typeof buses;

/**
 * Days an archived bus keeps its events for replay: as long as the readings they announce are
 * kept, since a replay re-delivers to targets that read the stored reading.
 */
export const ARCHIVE_RETENTION_DAYS = tables.readings.retention.days;

export const topics = {
  /** People subscribe here (email, https) with filter policies on `deviceId` and `severity`. */
  alerts: { name: 'sensorbus-alerts', env: 'ALERTS_TOPIC_ARN' },
} as const satisfies Record<string, TopicSpec>;

export type TopicName = keyof typeof topics;

/**
 * Queues rules deliver to (`kind: 'queue'` targets). None in sensorbus' own flow, whose consumers
 * are functions: a queue there would be billed for nothing. A developer adding a rule target
 * declares one here (README "Adding a rule target"); tests declare theirs with `extendTopology`.
 */
export const queues = {} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof queues;

export const secrets = {
  /** The HMAC key that signs admin and viewer bearer tokens (32 random bytes, base64url). */
  tokenSigningKey: { name: 'sensorbus-token-signing-key', env: 'TOKEN_SECRET_ID' },
} as const satisfies Record<string, SecretSpec>;

export type SecretName = keyof typeof secrets;
