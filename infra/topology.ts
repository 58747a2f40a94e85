/**
 * The single source of truth for sensorbus' data and event flow. The CDK stacks (`infra/aws/`) and
 * the local cloud (`infra/local/`) both loop over what is declared here; nothing below is spelled
 * anywhere else.
 *
 *   device ─POST /readings─▶ ingest ─conditional put─▶ readings (outbox mark)
 *                                  └─PutEvents ReadingRecorded─▶ bus telemetry
 */

export type AttributeType = 'S' | 'N';
export interface KeySpec {
  readonly name: string;
  readonly type: AttributeType;
}
export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: KeySpec;
  readonly sortKey?: KeySpec;
  /** `KEYS_ONLY` keeps sparse indexes (the outbox) cheap; `ALL` serves reads without a second fetch. */
  readonly projection: 'KEYS_ONLY' | 'ALL';
}
export interface TableSpec {
  /** Physical name locally; on AWS the stage name is prefixed. */
  readonly name: string;
  /** The environment variable through which a handler receives the table's name. */
  readonly env: string;
  readonly partitionKey: KeySpec;
  readonly sortKey?: KeySpec;
  readonly indexes: readonly IndexSpec[];
  /** Attribute holding an epoch-seconds expiry; the local cloud expires such items itself. */
  readonly timeToLiveAttribute?: string;
}

export const tables = {
  /** Registered devices, their hashed API key, last reading and alarm states. */
  devices: {
    name: 'sensorbus-devices',
    env: 'DEVICES_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    indexes: [
      { name: 'byApiKeyHash', partitionKey: { name: 'apiKeyHash', type: 'S' }, projection: 'KEYS_ONLY' },
    ],
  },
  /**
   * Readings keyed by `(deviceId, timestamp)`: the conditional put on this key is the idempotency
   * check. `outboxShard`/`outboxAt` are present only until the bus accepted the reading's event,
   * which makes `outbox` a sparse index of exactly the readings the relay must re-publish.
   */
  readings: {
    name: 'sensorbus-readings',
    env: 'READINGS_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'timestamp', type: 'S' },
    indexes: [
      {
        name: 'outbox',
        partitionKey: { name: 'outboxShard', type: 'S' },
        sortKey: { name: 'outboxAt', type: 'S' },
        projection: 'ALL',
      },
    ],
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;

export interface BusSpec {
  readonly name: string;
  readonly env: string;
  /** Kept in an archive (AWS) or `<data dir>/archive/` (local) so it can be replayed. */
  readonly archived: boolean;
}

export const buses = {
  /** Domain events: every fact the system learns lands here first. */
  telemetry: { name: 'sensorbus-telemetry', env: 'TELEMETRY_BUS', archived: true },
  /** Only what dashboards are pushed; decouples WebSocket fan-out from domain consumers. */
  websocket: { name: 'sensorbus-websocket', env: 'WEBSOCKET_BUS', archived: false },
} as const satisfies Record<string, BusSpec>;

export type BusName = keyof typeof buses;
