/**
 * Byte sizes the cost model needs (DynamoDB items, events, pushes, log lines), measured on a
 * sample reading built by the project's own code: the ingest item and `ReadingRecorded` entry of
 * `handlers/lib`, the enrichment of `handlers/enrichment/derive.ts`, the alert of
 * `handlers/enrichment/alarms.ts`, the push message of `handlers/push/push.ts`. A change to what
 * those produce changes the estimate with it.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { toPublishInput } from '../../handlers/alert-notifier/notify.ts';
import { evaluateAlarms } from '../../handlers/enrichment/alarms.ts';
import { alertEntry } from '../../handlers/enrichment/alert-events.ts';
import { deriveEnrichment } from '../../handlers/enrichment/derive.ts';
import { toWindowItem, WINDOW_ATTRIBUTE } from '../../handlers/enrichment/window-item.ts';
import { enrichmentItemsOf } from '../../handlers/lib/enrichments-store.ts';
import { buildEntry, chunkEntries } from '../../handlers/lib/events.ts';
import { hourKeyOf, packedOf, packedSize, slotKeyOf, uploadRefOf } from '../../handlers/lib/hour-items.ts';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import { readingRecordedEntries } from '../../handlers/lib/reading-events.ts';
import type { ReadingItem } from '../../handlers/lib/readings-store.ts';
import { aggregateReadings, STORED_SIZES } from '../../handlers/lib/rollups.ts';
import { paddedSequence, rollupItem } from '../../handlers/lib/rollups-store.ts';
import { toPushMessage } from '../../handlers/push/push.ts';
import { tables } from '../../infra/resources.ts';
import { ReadingEnriched } from '../../schemas/events.ts';
import { itemSize } from './dynamo-size.ts';

/** Everything in bytes. */
export interface Sizes {
  /** One reading as a device posts it (JSON). */
  readonly readingJson: number;
  /** The ingest answer to a single reading, and per item of a batch answer (JSON). */
  readonly responseSingle: number;
  readonly responseBatchBase: number;
  readonly responseBatchItem: number;
  /** The readings item as ingest puts it (the enrichment is stored apart). */
  readonly readingItem: number;
  /**
   * An item of the enrichments table (`handlers/lib/enrichments-store.ts`): its size without
   * readings, and what each enriched reading of its hour adds.
   */
  readonly enrichmentItemBase: number;
  readonly enrichmentItemPerReading: number;
  /**
   * An hour item of the readings table (`handlers/lib/hour-items.ts`), as an unwatched device's
   * upload packs it: its size with one upload named and no reading, and what each packed reading adds.
   */
  readonly hourItemBase: number;
  readonly hourItemPerReading: number;
  /** A stored rollup of the sample device: one bucket of its metrics (`handlers/lib/rollups-store.ts`). */
  readonly rollupItem: number;
  /** A device item with its last reading and alarm states. */
  readonly deviceItem: number;
  /** An entry of the devices `byApiKeyHash` index (KEYS_ONLY). */
  readonly apiKeyIndexEntry: number;
  /** EventBridge billing size (Time + Source + DetailType + Detail) of each event. */
  readonly readingRecordedEvent: number;
  readonly readingEnrichedEvent: number;
  readonly alertEvent: number;
  /** The event as delivered and archived (the whole JSON envelope). */
  readonly readingRecordedDelivered: number;
  readonly readingEnrichedDelivered: number;
  readonly alertDelivered: number;
  /** WebSocket push frames. */
  readonly pushReadingRecorded: number;
  readonly pushReadingEnriched: number;
  readonly pushAlert: number;
  /** The SNS message the alert notifier publishes (subject + message + attributes). */
  readonly snsMessage: number;
  /** A Powertools idempotency record. */
  readonly idempotencyRecord: number;
  /** An alert record of the alerts table (projected ALL into its two indexes). */
  readonly alertRecord: number;
  /** Connections table: the connection item, a subscription item, a `byDevice` index entry. */
  readonly connectionItem: number;
  readonly subscriptionItem: number;
  readonly subscriptionIndexEntry: number;
  /** Step Functions execution logs (level ALL, with execution data) of one enrichment. */
  readonly sfnLogBytesPerExecution: number;
  readonly sfnLogEventsPerExecution: number;
  /** The largest state of an enrichment execution (for its memory). */
  readonly sfnExecutionData: number;
  /** One REST access log line and one WebSocket access log line, with CloudWatch's 26 B per event. */
  readonly apiAccessLogLine: number;
  readonly wsAccessLogLine: number;
  /** An MQTT topic the IoT alternative publishes on. */
  readonly mqttTopic: number;
}

const METRIC_NAMES = [
  'temperature',
  'humidity',
  'pressure',
  'co2',
  'battery',
  'light',
  'soilMoisture',
  'voltage',
];
const metricNames = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => METRIC_NAMES[i] ?? `metric${i + 1}`);

const json = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

const DEVICE_ID = 'greenhouse-0001';
const BUS = 'prod-sensorbus-telemetry';
const ACCOUNT = '123456789012';
const UUID = '0b8f4f6e-3c2a-4e0b-9d51-7a6f2c1e9b30';
const NOW = new Date('2026-11-23T12:00:00.000Z');

/** PutEvents size accounting (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). */
const eventSize = (entry: PutEventsRequestEntry): number =>
  Buffer.byteLength(entry.Detail ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Source ?? '') +
  (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0) +
  (entry.Time ? 14 : 0);

/** The event as EventBridge delivers it to targets. */
const delivered = (entry: PutEventsRequestEntry) => ({
  version: '0',
  id: UUID,
  'detail-type': entry.DetailType,
  source: entry.Source,
  account: ACCOUNT,
  time: '2026-11-23T12:00:00Z',
  region: 'us-east-1',
  resources: entry.Resources ?? [],
  detail: JSON.parse(entry.Detail ?? '{}') as unknown,
});

/** The response metadata Step Functions adds to an AWS SDK / optimized integration result. */
const sdkMetadata = {
  SdkHttpMetadata: {
    AllHttpHeaders: {
      'x-amzn-RequestId': [UUID],
      'Content-Length': ['1024'],
      Date: ['Mon, 23 Nov 2026 12:00:00 GMT'],
      'Content-Type': ['application/x-amz-json-1.0'],
      Connection: ['keep-alive'],
      'x-amz-crc32': ['1234567890'],
    },
    HttpHeaders: {
      'x-amzn-RequestId': UUID,
      'Content-Length': '1024',
      Date: 'Mon, 23 Nov 2026 12:00:00 GMT',
      'Content-Type': 'application/x-amz-json-1.0',
      Connection: 'keep-alive',
      'x-amz-crc32': '1234567890',
    },
    HttpStatusCode: 200,
  },
  SdkResponseMetadata: { RequestId: UUID },
};
const lambdaResult = (payload: unknown) => ({
  ExecutedVersion: '$LATEST',
  Payload: payload,
  ...sdkMetadata,
  StatusCode: 200,
});

const EXECUTION_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:express:prod-sensorbus-enrich-reading:${UUID}:${UUID}`;
/** One Step Functions history event as CloudWatch Logs ingests it (+26 B per log event). */
const logEvent = (type: string, details: Record<string, unknown>): number =>
  json({
    id: '12',
    type,
    details,
    previous_event_id: '11',
    event_timestamp: '1795435200123',
    execution_arn: EXECUTION_ARN,
    redrive_count: '0',
  }) + 26;

interface LogSizing {
  readonly bytes: number;
  readonly events: number;
}

/**
 * The log events of one successful enrich-reading execution at level ALL with execution data
 * (`infra/aws/state-machines.ts`), state by state as `statemachines/enrich-reading.asl.json` runs
 * them; the JSON data in them are the real payloads of the sample reading.
 */
const enrichmentLogs = (states: {
  s0: unknown;
  s1: unknown;
  s2: unknown;
  s3: unknown;
  getItem: unknown;
  deriveParams: unknown;
  deriveResult: unknown;
  evaluateParams: unknown;
  evaluateResult: unknown;
  batch: unknown;
  enriched: unknown;
}): LogSizing => {
  const sizes: number[] = [];
  const entered = (kind: string, name: string, input: unknown) =>
    sizes.push(
      logEvent(`${kind}StateEntered`, {
        name,
        input: JSON.stringify(input),
        inputDetails: { truncated: false },
      }),
    );
  const exited = (kind: string, name: string, output: unknown) =>
    sizes.push(
      logEvent(`${kind}StateExited`, {
        name,
        output: JSON.stringify(output),
        outputDetails: { truncated: false },
      }),
    );
  const task = (
    name: string,
    input: unknown,
    resourceType: string,
    resource: string,
    params: unknown,
    result: unknown,
    output: unknown,
  ) => {
    entered('Task', name, input);
    sizes.push(
      logEvent('TaskScheduled', {
        parameters: JSON.stringify(params),
        region: 'us-east-1',
        resource,
        resourceType,
      }),
    );
    sizes.push(logEvent('TaskStarted', { resource, resourceType }));
    sizes.push(
      logEvent('TaskSucceeded', {
        output: JSON.stringify(result),
        outputDetails: { truncated: false },
        resource,
        resourceType,
      }),
    );
    exited('Task', name, output);
  };
  const putEventsResult = { Entries: [{ EventId: UUID }], FailedEntryCount: 0, ...sdkMetadata };

  sizes.push(
    logEvent('ExecutionStarted', {
      input: JSON.stringify(states.s0),
      inputDetails: { truncated: false },
      roleArn: `arn:aws:iam::${ACCOUNT}:role/prod-sensorbus-enrich-reading-role`,
    }),
  );
  task(
    'LoadDevice',
    states.s0,
    'dynamodb',
    'getItem',
    { TableName: 'prod-sensorbus-devices' },
    states.getItem,
    states.s1,
  );
  entered('Choice', 'DeviceKnown', states.s1);
  exited('Choice', 'DeviceKnown', states.s1);
  task('DeriveMetrics', states.s1, 'lambda', 'invoke', states.deriveParams, states.deriveResult, states.s2);
  task(
    'EvaluateAlarms',
    states.s2,
    'lambda',
    'invoke',
    states.evaluateParams,
    states.evaluateResult,
    states.s3,
  );
  entered('Map', 'Publish', states.s3);
  sizes.push(logEvent('MapStateStarted', { length: 1 }));
  sizes.push(logEvent('MapIterationStarted', { index: 0, name: 'Publish' }));
  task(
    'PutBatch',
    states.batch,
    'events',
    'putEvents',
    { Entries: states.batch },
    putEventsResult,
    putEventsResult,
  );
  entered('Choice', 'CheckBatch', putEventsResult);
  exited('Choice', 'CheckBatch', putEventsResult);
  entered('Succeed', 'BatchPublished', putEventsResult);
  exited('Succeed', 'BatchPublished', putEventsResult);
  sizes.push(logEvent('MapIterationSucceeded', { index: 0, name: 'Publish' }));
  sizes.push(logEvent('MapStateSucceeded', {}));
  exited('Map', 'Publish', states.s3);
  entered('Pass', 'Enriched', states.s3);
  exited('Pass', 'Enriched', states.enriched);
  sizes.push(
    logEvent('ExecutionSucceeded', {
      output: JSON.stringify(states.enriched),
      outputDetails: { truncated: false },
    }),
  );
  return { bytes: sizes.reduce((a, b) => a + b, 0), events: sizes.length };
};

/** The sizes of a sample device with `metricsPerReading` metrics, posting every `intervalSeconds`. */
export const measureSizes = (metricsPerReading = 3, intervalSeconds = 60): Sizes => {
  const names = metricNames(metricsPerReading);
  const metricsAt = (step: number): Record<string, number> =>
    Object.fromEntries(
      names.map((name, i) => [name, Math.round((20 + i * 7.3 + ((step * 37) % 11) * 0.1) * 10) / 10]),
    );
  const timestampAt = (step: number) => new Date(NOW.getTime() - step * intervalSeconds * 1000).toISOString();

  const reading = { deviceId: DEVICE_ID, timestamp: timestampAt(0), metrics: metricsAt(0) };
  const readingId = readingIdOf(reading.deviceId, reading.timestamp);
  const receivedAt = new Date(NOW.getTime() + 180).toISOString();
  const stored: ReadingItem = { ...reading, receivedAt, readingId, correlationId: UUID };
  const history = Array.from({ length: 12 }, (_, i) => ({
    timestamp: timestampAt(i + 1),
    metrics: metricsAt(i + 1),
  }));
  const enrichment = deriveEnrichment(reading, history, { window: 12 });
  // One item of the enrichments table holding `count` readings of one hour like the sample.
  const enrichmentItem = (count: number) => {
    const hour = Math.floor(NOW.getTime() / 3_600_000) * 3_600_000;
    const readings = Array.from({ length: count }, (_, i) => {
      const timestamp = new Date(hour + (i + 1) * 60_000).toISOString();
      return { ...enrichment, timestamp, readingId: readingIdOf(DEVICE_ID, timestamp) };
    });
    const [item] = enrichmentItemsOf(DEVICE_ID, readings, {
      startedAt: NOW.toISOString(),
      retentionDays: tables.enrichments.retention.days,
    });
    return item ? itemSize({ ...item }) : 0;
  };

  const [recordedRun] = readingRecordedEntries([stored], { busName: BUS, producedAt: NOW, watched: true });
  if (!recordedRun) throw new Error('The sample reading made no ReadingRecorded');
  const recorded = recordedRun.entry;
  const recordedEvent = delivered(recorded);
  const enrichedEntry = buildEntry(ReadingEnriched, {
    busName: BUS,
    data: { deviceId: DEVICE_ID, uploadId: UUID, watched: true, readings: [enrichment] },
    idempotencyKey: readingId,
    correlationId: UUID,
    producedAt: NOW.toISOString(),
  });
  const firstMetric = names[0] ?? 'temperature';
  const alarms = [
    { metric: firstMetric, above: 30, severity: 'warning' as const },
    { metric: firstMetric, below: 5, severity: 'critical' as const },
  ];
  const { alerts } = evaluateAlarms({
    alarms: alarms.slice(0, 1),
    states: {},
    reading: { ...reading, metrics: { ...reading.metrics, [firstMetric]: 31.2 } },
    units: { [firstMetric]: '°C' },
  });
  const alert = alerts[0];
  if (!alert) throw new Error('The sample alarm raised no alert');
  const alertEntryOf = alertEntry(alert, BUS, UUID, NOW.toISOString());
  const alertEvent = delivered(alertEntryOf);

  const push = (event: unknown): number => {
    const message = toPushMessage(event);
    if (!message) throw new Error('The sample event is not pushable');
    return json(message);
  };

  const publish = toPublishInput({
    eventId: UUID,
    detailType: alert.detailType,
    alertId: alert.data.alertId,
    deviceId: DEVICE_ID,
    severity: alert.data.severity,
    subject: `AlertRaised (${alert.data.severity}): ${DEVICE_ID}`,
    message: `AlertRaised for device ${DEVICE_ID} at ${alert.data.time}: ${alert.data.summary}`,
  });

  const apiKeyHash = 'a'.repeat(64);
  const device = {
    deviceId: DEVICE_ID,
    name: 'Greenhouse 1',
    location: { latitude: 52.3676, longitude: 4.9041, label: 'North greenhouse' },
    metrics: Object.fromEntries(names.map((name) => [name, { unit: 'unit' }])),
    alarms,
    expectedIntervalSeconds: intervalSeconds,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    apiKeyHash,
    lastReading: { timestamp: reading.timestamp, metrics: reading.metrics, receivedAt },
    alarmStates: {
      [`${firstMetric}|30|`]: { state: 'OK', since: reading.timestamp, alertId: UUID },
      [`${firstMetric}||5`]: { state: 'OK', since: reading.timestamp },
      silence: { state: 'OK', since: reading.timestamp, alertId: UUID },
    },
    // Derive keeps the device's rolling window on the device item, as it stores it: the latest
    // readings and, for a replayed event, those its readings pushed out. Here an upload of a whole
    // window's readings pushed every earlier one out: the largest the item gets.
    [WINDOW_ATTRIBUTE]: toWindowItem({
      version: 1,
      readings: [...history].reverse(),
      appliedEventId: UUID,
      pushedOut: Array.from({ length: 12 }, (_, i) => ({
        timestamp: timestampAt(24 - i),
        metrics: metricsAt(24 - i),
      })),
    }),
  };

  const connectionId = 'Lt2kZcVmoAMCJzQ=';
  const subscription = {
    connectionId,
    sk: `device#${DEVICE_ID}`,
    deviceId: DEVICE_ID,
    expiresAt: 1795442400,
  };

  // The states of one enrich-reading execution, as the ASL builds them.
  const getItem = { Item: { deviceId: { S: DEVICE_ID } }, ...sdkMetadata };
  const s0 = recordedEvent;
  const s1 = { ...s0, device: getItem };
  const attribute = { M: marshall(enrichment, { removeUndefinedValues: true }) };
  const s2 = { ...s1, derived: { enrichment, attribute } };
  const batches = chunkEntries([enrichedEntry], (entry) => entry);
  const s3 = { ...s2, publish: { batches, alerts: 0 } };
  const logs = enrichmentLogs({
    s0,
    s1,
    s2,
    s3,
    getItem,
    deriveParams: {
      FunctionName: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:prod-sensorbus-derive-metrics`,
      Payload: { reading: recordedEvent.detail },
    },
    deriveResult: lambdaResult({ enrichment, attribute }),
    evaluateParams: {
      FunctionName: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:prod-sensorbus-evaluate-alarms`,
      Payload: { reading: recordedEvent.detail, enrichment },
    },
    evaluateResult: lambdaResult({ batches, alerts: 0 }),
    batch: batches[0],
    enriched: { readingId, deviceId: DEVICE_ID, timestamp: reading.timestamp, alerts: 0 },
  });

  /** The hour item holding the sample device's first `n` readings, packed by one upload. */
  const hourItem = (n: number): number => {
    const ref = uploadRefOf(UUID);
    const packed = Array.from({ length: n }, (_, i) => {
      const timestamp = timestampAt(i);
      return [slotKeyOf(timestamp), packedOf({ metrics: metricsAt(i) }, ref)] as const;
    });
    return itemSize({
      deviceId: DEVICE_ID,
      timestamp: hourKeyOf(reading.timestamp),
      r: Object.fromEntries(packed),
      u: { [ref]: { id: UUID, at: receivedAt, c: UUID } },
      bytes: packed.reduce((sum, [slot, value]) => sum + packedSize(slot, value), 0),
      expiresAt: Math.floor(NOW.getTime() / 1000),
    });
  };

  const singleAnswer = { readingId, deviceId: DEVICE_ID, timestamp: reading.timestamp, duplicate: false };
  const batchItem = { index: 0, status: 202, ...singleAnswer };
  const accessLog = {
    requestId: UUID,
    ip: '203.0.113.10',
    user: '-',
    caller: '-',
    requestTime: '23/Nov/2026:12:00:00 +0000',
    httpMethod: 'POST',
    resourcePath: '/readings',
    status: '202',
    protocol: 'HTTP/1.1',
    responseLength: '140',
  };
  const wsAccessLine = `203.0.113.10 - - [23/Nov/2026:12:00:00 +0000] "MESSAGE subscribe ${connectionId}" 200 ${UUID}`;

  return {
    readingJson: json(reading),
    responseSingle: json(singleAnswer),
    responseBatchBase: json({ accepted: 0, rejected: 0, results: [] }),
    responseBatchItem: json(batchItem) + 1,
    readingItem: itemSize(stored as unknown as Record<string, unknown>),
    enrichmentItemBase: 2 * enrichmentItem(1) - enrichmentItem(2),
    enrichmentItemPerReading: enrichmentItem(2) - enrichmentItem(1),
    hourItemBase: 2 * hourItem(1) - hourItem(2),
    hourItemPerReading: hourItem(2) - hourItem(1),
    rollupItem: itemSize(
      rollupItem(
        { deviceId: DEVICE_ID, size: STORED_SIZES[0], start: reading.timestamp },
        aggregateReadings([reading, { ...reading, timestamp: timestampAt(1), metrics: metricsAt(1) }]),
        paddedSequence('4421584500000000017590012345'),
        tables.rollups.retention.days,
      ),
    ),
    deviceItem: itemSize(device),
    apiKeyIndexEntry: itemSize({ deviceId: DEVICE_ID, apiKeyHash }),
    readingRecordedEvent: eventSize(recorded),
    readingEnrichedEvent: eventSize(enrichedEntry),
    alertEvent: eventSize(alertEntryOf),
    readingRecordedDelivered: json(recordedEvent),
    readingEnrichedDelivered: json(delivered(enrichedEntry)),
    alertDelivered: json(alertEvent),
    pushReadingRecorded: push(recordedEvent),
    pushReadingEnriched: push(delivered(enrichedEntry)),
    pushAlert: push(alertEvent),
    snsMessage: Buffer.byteLength(publish.subject + publish.message) + json(publish.attributes),
    idempotencyRecord: itemSize({
      id: `push#${'f'.repeat(32)}`,
      expiration: 1795438800,
      in_progress_expiration: 1795435260123,
      status: 'COMPLETED',
      data: JSON.stringify({ sent: 1, gone: 0, failed: 0 }),
    }),
    alertRecord: itemSize({
      alertId: UUID,
      deviceId: DEVICE_ID,
      kind: 'threshold',
      severity: alert.data.severity,
      state: 'resolved',
      summary: alert.data.summary,
      raisedAt: reading.timestamp,
      resolvedAt: reading.timestamp,
      updatedAt: reading.timestamp,
      metric: firstMetric,
      value: 31.2,
      above: 30,
    }),
    connectionItem: itemSize({
      connectionId,
      sk: 'connection',
      role: 'viewer',
      deviceIds: '*',
      connectedAt: NOW.toISOString(),
      expiresAt: 1795442400,
    }),
    subscriptionItem: itemSize(subscription),
    subscriptionIndexEntry: itemSize({ deviceId: DEVICE_ID, connectionId, sk: subscription.sk }),
    sfnLogBytesPerExecution: logs.bytes,
    sfnLogEventsPerExecution: logs.events,
    sfnExecutionData: json(s3),
    apiAccessLogLine: json(accessLog) + 26,
    wsAccessLogLine: Buffer.byteLength(wsAccessLine) + 26,
    mqttTopic: Buffer.byteLength(`sensorbus/${DEVICE_ID}/readings`),
  };
};
