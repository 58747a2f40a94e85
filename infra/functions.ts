/**
 * The Lambda functions, declared once with what each may use: the CDK stack builds functions and
 * grants from this, the local Lambda runtime runs the same entry points with the same environment.
 */
import type { BusName, SecretName, TableName, TopicName } from './resources.ts';
import type { FunctionSpec as FunctionSpecOf } from './topology-types.ts';

export type { Access } from './topology-types.ts';

export type FunctionSpec = FunctionSpecOf<{
  table: TableName;
  bus: BusName;
  topic: TopicName;
  secret: SecretName;
}>;

export const functions = {
  ingest: {
    entry: 'handlers/ingest/handler.ts',
    description:
      'POST /readings: check the device key, validate, store once (the stream announces what is stored)',
    tables: { readings: 'readWrite', devices: 'read', deviceKeys: 'read' },
    buses: [],
  },
  devices: {
    entry: 'handlers/devices/handler.ts',
    description: 'GET /devices and GET /devices/{deviceId}: the devices a token may see',
    tables: { devices: 'read' },
    buses: [],
  },
  deviceRegistry: {
    entry: 'handlers/devices/registry-handler.ts',
    description: 'The device registry: register, update, rotate keys, delete (resolving its alerts)',
    tables: { devices: 'readWrite', deviceKeys: 'readWrite', alerts: 'readWrite', connections: 'readWrite' },
    buses: ['telemetry'],
  },
  tokens: {
    entry: 'handlers/tokens/handler.ts',
    description: 'POST /tokens: admin, operator and viewer tokens',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  readings: {
    entry: 'handlers/readings/handler.ts',
    description: 'GET /devices/{deviceId}/readings: history, oldest first, raw or in buckets',
    tables: { readings: 'read', enrichments: 'read', devices: 'read', rollups: 'read' },
    buses: [],
  },
  rollups: {
    entry: 'handlers/rollups/handler.ts',
    description: "Consumes the readings table's stream: folds new readings into per-bucket rollups",
    tables: { rollups: 'readWrite' },
    buses: [],
  },
  bearerAuthorizer: {
    entry: 'handlers/authorizers/bearer.ts',
    description: 'Checks an admin, operator or viewer bearer token',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  announce: {
    entry: 'handlers/announce/handler.ts',
    description:
      "Consumes the readings table's stream: announces each upload's new readings as ReadingRecorded",
    tables: { devices: 'read' },
    buses: ['telemetry'],
  },
  alertNotifier: {
    entry: 'handlers/alert-notifier/handler.ts',
    description:
      'Publishes each alert event once to the alerts topic, with deviceId and severity attributes, unless the alert is snoozed',
    tables: { idempotency: 'readWrite', alerts: 'read' },
    buses: [],
    topics: { alerts: 'publish' },
  },
  alertSubscriptions: {
    entry: 'handlers/alert-subscriptions/handler.ts',
    description: 'Alert subscriptions: SNS subscriptions with filter policies, listed and ended',
    tables: {},
    buses: [],
    topics: { alerts: 'manageSubscriptions' },
  },
  deriveMetrics: {
    entry: 'handlers/enrichment/derive-handler.ts',
    description:
      "enrich-reading task: an upload's derived metrics from the device's rolling window, stored by the hour in the enrichments table, announced as ReadingEnriched",
    tables: { enrichments: 'write', devices: 'readWrite' },
    buses: ['telemetry'],
  },
  evaluateAlarms: {
    entry: 'handlers/enrichment/evaluate-handler.ts',
    description:
      "enrich-reading task: alarm states over an upload's readings in order, and the alert events to publish",
    tables: { devices: 'readWrite', alerts: 'write' },
    buses: [],
    namesBuses: ['telemetry'],
  },
  silenceCheck: {
    entry: 'handlers/enrichment/silence-handler.ts',
    description: 'Raises and resolves DeviceSilent alerts',
    tables: { devices: 'readWrite', alerts: 'write' },
    buses: ['telemetry'],
  },
  alertHistory: {
    entry: 'handlers/alerts/history-handler.ts',
    description:
      'Records every alert event: the alert and its timeline; resolves the alerts of a device deleted before their raise arrived',
    tables: { alerts: 'readWrite', devices: 'read' },
    buses: ['telemetry'],
  },
  alerts: {
    entry: 'handlers/alerts/handler.ts',
    description: 'GET /alerts; acknowledge, snooze and resolve an alert',
    tables: { alerts: 'readWrite', devices: 'readWrite' },
    buses: ['telemetry'],
  },
  alertEscalation: {
    entry: 'handlers/alerts/escalation-handler.ts',
    description:
      'Notifies again the active alerts nobody acknowledged or snoozed, once per escalation period',
    tables: { alerts: 'readWrite', devices: 'read' },
    buses: ['telemetry'],
  },
  websocketAuthorizer: {
    entry: 'handlers/authorizers/websocket.ts',
    description: 'Checks the viewer token of a WebSocket $connect (query string `token`)',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  websocketConnections: {
    entry: 'handlers/websocket/connections.ts',
    description: 'WebSocket $connect and $disconnect: records and forgets connections',
    tables: { connections: 'readWrite' },
    buses: [],
  },
  websocketMessages: {
    entry: 'handlers/websocket/messages.ts',
    description: 'WebSocket subscribe, unsubscribe and $default',
    tables: { connections: 'readWrite', devices: 'write' },
    buses: [],
  },
  push: {
    entry: 'handlers/push/handler.ts',
    description: 'Pushes an event to every connection subscribed to its device',
    tables: { connections: 'readWrite' },
    buses: [],
    websocketManagement: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functions;
