import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retentionDaysOf } from '../../../../handlers/lib/rollups.ts';
import { UNWATCHED_BUFFER_SECONDS } from '../../../../schemas/reading.ts';
import { defaultAssumptions } from '../../../../tools/cost/defaults.ts';
import { renderJson, renderText } from '../../../../tools/cost/format.ts';
import {
  type Assumptions,
  authorizerCacheHitRate,
  type CostInputs,
  type Estimate,
  estimate,
  estimateDesign,
  type LineItem,
  sampledTraces,
  storedRollupsPerDevice,
  uploadShapeOf,
} from '../../../../tools/cost/model.ts';
import { PRICES, PRICES_READ_ON, unverifiedPrices } from '../../../../tools/cost/prices.ts';
import type { Sizes } from '../../../../tools/cost/sizes.ts';
import type { Routing } from '../../../../tools/cost/topology.ts';

/** Sizes chosen by hand so every count below can be worked out on paper: every item ≤ 1 KB. */
const SIZES: Sizes = {
  readingJson: 130,
  responseSingle: 140,
  responseBatchBase: 40,
  responseBatchItem: 160,
  readingItem: 250,
  enrichmentItemBase: 150,
  enrichmentItemPerReading: 250, // an hour of 1 reading: 400 B → 1 WRU; of 10: 2,650 B → 3 WRU
  hourItemBase: 200,
  hourItemPerReading: 80, // an hour of 12 readings: 1,160 B → 2 WRU; of 60: 5,000 B → 5 WRU
  rollupItem: 500,
  deviceItem: 800,
  apiKeyIndexEntry: 100,
  readingRecordedEvent: 500,
  readingEnrichedEvent: 850,
  alertEvent: 600,
  readingRecordedDelivered: 700,
  readingEnrichedDelivered: 1000,
  alertDelivered: 800,
  pushReadingRecorded: 400,
  pushReadingEnriched: 700,
  pushAlert: 450,
  snsMessage: 200,
  idempotencyRecord: 150,
  alertRecord: 300,
  connectionItem: 110,
  subscriptionItem: 90,
  subscriptionIndexEntry: 75,
  sfnLogBytesPerExecution: 70_000,
  sfnLogEventsPerExecution: 41,
  sfnExecutionData: 4_000,
  apiAccessLogLine: 270,
  wsAccessLogLine: 150,
  mqttTopic: 34,
};

/** The routing of infra/topology.ts as of this test (topology.test.ts checks the real one). */
const ROUTING: Routing = {
  devicesTable: 'devices',
  buses: [
    { name: 'telemetry', archived: true },
    { name: 'websocket', archived: false },
  ],
  routes: [
    {
      bus: 'telemetry',
      rule: 'enrich',
      detailTypes: ['ReadingRecorded'],
      target: { kind: 'stateMachine', stateMachine: 'enrichReading' },
    },
    {
      bus: 'telemetry',
      rule: 'alert-history',
      detailTypes: ['AlertRaised', 'AlertResolved'],
      target: { kind: 'function', function: 'alertHistory' },
    },
    {
      bus: 'telemetry',
      rule: 'alerts',
      detailTypes: ['AlertRaised', 'AlertResolved'],
      target: { kind: 'function', function: 'alertNotifier' },
    },
    {
      bus: 'telemetry',
      rule: 'to-websocket',
      detailTypes: ['ReadingRecorded', 'ReadingEnriched', 'AlertRaised', 'AlertResolved'],
      target: { kind: 'bus', bus: 'websocket' },
    },
    {
      bus: 'websocket',
      rule: 'push',
      detailTypes: ['ReadingRecorded', 'ReadingEnriched', 'AlertRaised', 'AlertResolved'],
      target: { kind: 'function', function: 'push' },
    },
  ],
  schedules: [{ name: 'silenceCheck', function: 'silenceCheck', everyMinutes: 1 }],
  authorizerCacheTtlSeconds: 300,
  alarms: 26,
  customerManagedKeys: 1,
  secrets: 1,
  workflowLogLevel: 'ALL',
  tables: ['devices', 'connections', 'alerts', 'idempotency', 'readings'],
  functions: [],
};

const ASSUMPTIONS: Assumptions = {
  ...defaultAssumptions(),
  sizes: SIZES,
  routing: ROUTING,
  lambdaMemoryMb: 512,
  sfnDefinitionBytes: 9_300,
};

const FLEET: CostInputs = {
  devices: 1000,
  intervalSeconds: 60,
  batch: 1,
  alertsPerDevicePerDay: 0,
  dashboards: 0,
  months: 1,
  retentionDays: 30,
  emailSubscribers: 1,
};

const READINGS_WRITES = 'readings: conditional PutItem (watched) and hour items (unwatched)';

/** 1000 devices × 60 readings/h × 24 h × 30.44 days. */
const READINGS = 1000 * 60 * 24 * 30.44;

const rest = (inputs: Partial<CostInputs> = {}): Estimate =>
  estimateDesign('rest', { ...FLEET, ...inputs }, ASSUMPTIONS, PRICES);
const iot = (inputs: Partial<CostInputs> = {}): Estimate =>
  estimateDesign('iot', { ...FLEET, ...inputs }, ASSUMPTIONS, PRICES);

const line = (estimate: Estimate, item: string): LineItem => {
  const found = estimate.services.flatMap((s) => s.lines).find((l) => l.item === item);
  if (!found) throw new Error(`no line "${item}" in ${estimate.design}`);
  return found;
};
const service = (estimate: Estimate, name: string): number =>
  estimate.services.find((s) => s.service === name)?.cost ?? 0;
const units = (estimate: Estimate, priceId: string): number =>
  estimate.services
    .flatMap((s) => s.lines)
    .filter((l) => l.priceId === priceId)
    .reduce((sum, l) => sum + l.quantity, 0);

describe('volumes, counted by hand', () => {
  it('1000 devices every 60 s make 43,833,600 readings a month, each one HTTP API request at batch 1', () => {
    expect(READINGS).toBe(43_833_600);
    const estimate = rest();
    expect(estimate.volumes.readingsPerMonth).toBeCloseTo(43_833_600, 3);
    const requests = line(estimate, 'HTTP API requests (POST /readings)');
    expect(requests.quantity).toBeCloseTo(43_833_600, 3);
    expect(requests.cost).toBeCloseTo(43.8336 * 1.0, 6);
    expect(line(estimate, 'ingest: invocations').quantity).toBeCloseTo(43_833_600, 3);
  });

  it('batch 10 divides requests and ingest invocations by ten', () => {
    const estimate = rest({ batch: 10 });
    expect(line(estimate, 'HTTP API requests (POST /readings)').quantity).toBeCloseTo(4_383_360, 3);
    expect(line(estimate, 'HTTP API requests (POST /readings)').cost).toBeCloseTo(4.38336 * 1.0, 6);
    expect(line(estimate, 'ingest: invocations').quantity).toBeCloseTo(4_383_360, 3);
  });

  it("behind the HTTP API no authorizer runs: the ingest function reads the key's record on every request", () => {
    const estimate = rest();
    expect(
      estimate.services.flatMap((s) => s.lines).some((l) => l.item.startsWith('deviceKeyAuthorizer')),
    ).toBe(false);
    expect(estimate.volumes.authorizerInvocations).toBe(0);
    // One strongly consistent GetItem of a small item per request: 1 RRU.
    expect(line(estimate, 'device keys: GetItem (ingest)').quantity).toBeCloseTo(READINGS, 3);
    // The read lengthens each ingest invocation instead of running a function of its own.
    const viaRest = rest({ frontDoor: 'rest' });
    expect(line(estimate, 'ingest: duration').quantity).toBeGreaterThan(
      line(viaRest, 'ingest: duration').quantity,
    );
    expect(service(estimate, 'Lambda')).toBeLessThan(service(viaRest, 'Lambda'));
  });

  it("the REST front door's authorizer runs once per cache miss: every 5th request at 60 s, every request at 600 s", () => {
    const viaRest = (inputs: Partial<CostInputs> = {}) => rest({ frontDoor: 'rest', ...inputs });
    expect(authorizerCacheHitRate(60, 300)).toBeCloseTo(0.8, 12);
    expect(authorizerCacheHitRate(600, 300)).toBe(0);
    expect(authorizerCacheHitRate(300, 300)).toBe(0);
    expect(authorizerCacheHitRate(100, 300)).toBeCloseTo(2 / 3, 12);
    expect(line(viaRest(), 'REST requests (POST /readings)').quantity).toBeCloseTo(READINGS, 3);
    expect(line(viaRest(), 'deviceKeyAuthorizer: invocations').quantity).toBeCloseTo(READINGS / 5, 3);
    expect(line(viaRest({ batch: 10 }), 'deviceKeyAuthorizer: invocations').quantity).toBeCloseTo(
      READINGS / 10,
      3,
    );
    // One strongly consistent GetItem of the key's record per run: 1 RRU.
    expect(line(viaRest(), 'device keys: GetItem (authorizer)').quantity).toBeCloseTo(READINGS / 5, 3);
  });

  it('ingest appends an unwatched upload to its hour item and puts a lone reading (its stream record is the outbox), the announcer runs once per upload; lastReading costs no write of its own', () => {
    const estimate = rest();
    // A lone reading is a put of its own (1 WRU), behind the hour's marker created once an hour.
    expect(line(estimate, READINGS_WRITES).quantity / READINGS).toBeCloseTo(1 + 1 / 60, 6);
    // Two at a time, billed on the item: on average half an hour of 60 readings of 80 B over 200 B,
    // 2,678 B → 3 WRU, for the 1 + 60 / 3600 hour items an upload spans; and once an hour the
    // refused append that finds the new hour's item absent.
    expect(line(rest({ batch: 2 }), READINGS_WRITES).quantity / (READINGS / 2)).toBeCloseTo(
      (1 + 1 / 60) * 3 + 1 / 60,
      6,
    );
    expect(estimate.services.flatMap((s) => s.lines).some((l) => l.item.includes('outbox'))).toBe(false);
    expect(line(estimate, 'announce: invocations').quantity).toBeCloseTo(READINGS, 3);
    expect(line(rest({ batch: 10 }), 'announce: invocations').quantity).toBeCloseTo(READINGS / 10, 3);
    const lines = estimate.services.flatMap((s) => s.lines).map((l) => l.item);
    expect(lines.filter((item) => item.includes('lastReading'))).toEqual([
      'devices: UpdateItem window and lastReading (DeriveMetrics)',
    ]);
  });

  it('enrichment reads 2.5 RRU and writes 1 WRU per upload (the window, with lastReading) and one enrichments item per hour an upload spans, plus one alarm-state write per transition', () => {
    const estimate = rest({ alertsPerDevicePerDay: 1 });
    expect(line(estimate, 'enrich-reading executions').quantity).toBeCloseTo(READINGS, 3);
    expect(line(estimate, 'devices: GetItem (LoadDevice)').quantity).toBeCloseTo(0.5 * READINGS, 3);
    expect(line(estimate, 'devices: consistent GetItem window (DeriveMetrics)').quantity).toBeCloseTo(
      READINGS,
      3,
    );
    expect(line(estimate, 'devices: UpdateItem window and lastReading (DeriveMetrics)').quantity).toBeCloseTo(
      READINGS,
      3,
    );
    expect(line(estimate, 'devices: consistent GetItem (EvaluateAlarms)').quantity).toBeCloseTo(READINGS, 3);
    expect(line(estimate, 'enrichments: PutItem per hour of an upload (DeriveMetrics)').quantity).toBeCloseTo(
      READINGS,
      3,
    );
    // An upload of 10 is one execution: the per-upload units fall tenfold. Its readings a minute
    // apart span 1 + 9 × 60 / 3600 = 1.15 hours on average, each item of 150 + 250 × 10 / 1.15 B: 3 WRU.
    const ten = rest({ batch: 10 });
    expect(line(ten, 'enrich-reading executions').quantity).toBeCloseTo(READINGS / 10, 3);
    expect(line(ten, 'enrichments: PutItem per hour of an upload (DeriveMetrics)').quantity).toBeCloseTo(
      (READINGS / 10) * 1.15 * 3,
      3,
    );
    // 1000 devices × 1 alert a day × 30.44 days, raised and resolved.
    expect(line(estimate, 'devices: UpdateItem alarm states (on a transition)').quantity).toBeCloseTo(
      2 * 30_440,
      6,
    );
  });

  it('Step Functions Express: $1 per million executions, 0.3 s × 64 MB each at $0.06 per GB-hour', () => {
    const estimate = rest();
    expect(line(estimate, 'enrich-reading executions').cost).toBeCloseTo(43.8336, 6);
    const duration = line(estimate, 'enrich-reading duration');
    expect(duration.quantity).toBeCloseTo(READINGS * 0.3 * (64 / 1024), 3); // 821,880 GB-s
    expect(duration.cost).toBeCloseTo((821_880 / 3600) * 0.06, 6);
  });

  it('each reading is 4 custom events: ReadingRecorded and ReadingEnriched, on each bus; alerts likewise', () => {
    const estimate = rest({ alertsPerDevicePerDay: 1 });
    expect(estimate.volumes.customEvents).toBeCloseTo(4 * READINGS + 4 * 30_440, 3);
    expect(line(estimate, 'ReadingRecorded on websocket').quantity).toBeCloseTo(READINGS, 3);
    // enrich + to-websocket for each reading's two events + push on the second bus; alerts go to 3 rules + push.
    expect(estimate.volumes.ruleDeliveries).toBeCloseTo(READINGS * (1 + 2 + 2) + 2 * 30_440 * 4, 3);
    expect(line(estimate, 'rule matches delivered to targets').cost).toBe(0);
  });

  it('the push Lambda runs for every event on the websocket bus and writes an idempotency record (2 WRU)', () => {
    const estimate = rest({ alertsPerDevicePerDay: 1 });
    const events = 2 * READINGS + 2 * 30_440;
    expect(line(estimate, 'push: invocations').quantity).toBeCloseTo(events, 3);
    expect(line(estimate, 'idempotency: PutItem + UpdateItem (push)').quantity).toBeCloseTo(2 * events, 3);
    expect(line(estimate, 'idempotency: PutItem + UpdateItem (alert-notifier)').quantity).toBeCloseTo(
      2 * 2 * 30_440,
      3,
    );
    expect(line(estimate, 'Publish to the alerts topic').quantity).toBeCloseTo(2 * 30_440, 6);
    expect(line(estimate, 'alerts: UpdateItem (alert-history)').quantity).toBeCloseTo(
      30_440 * 3 + 30_440 * 5,
      6,
    );
  });

  it('dashboards receive a push per event of every device they follow', () => {
    const estimate = rest({ dashboards: 2 });
    expect(line(estimate, 'postToConnection pushes').quantity).toBeCloseTo(2 * 2 * READINGS, 3);
    expect(line(estimate, 'connection minutes (dashboards)').quantity).toBeCloseTo(2 * 30.44 * 1440, 6);
    expect(
      line(rest({ dashboards: 2, devicesPerDashboard: 100 }), 'postToConnection pushes').quantity,
    ).toBeCloseTo(2 * 2 * READINGS * 0.1, 3);
  });

  it('the schedules run every minute: 43,833.6 runs each, the silence check scanning every device', () => {
    const estimate = rest();
    expect(line(estimate, 'silenceCheck every 1 min').quantity).toBeCloseTo(43_833.6, 6);
    // 1000 × 800 B = 800,000 B → 196 × 4 KB → 98 RRU a run.
    expect(line(estimate, 'devices: Scan (silence check)').quantity).toBeCloseTo(43_833.6 * 98, 6);
  });

  it('a fleet reporting every 15 minutes is checked for silence every 4 minutes (a tenth of 3 intervals), a quarter of the runs and Scans', () => {
    const estimate = rest({ intervalSeconds: 900 });
    expect(line(estimate, 'silenceCheck every 4 min').quantity).toBeCloseTo(43_833.6 / 4, 6);
    expect(line(estimate, 'devices: Scan (silence check)').quantity).toBeCloseTo((43_833.6 / 4) * 98, 6);
    expect(estimate.rates.silenceCheck.periodSeconds).toBe(240);
  });

  it('X-Ray records the first root each second and 5% of the rest', () => {
    expect(sampledTraces(1000, 2_630_016, 1, 0.05)).toBe(1000);
    expect(sampledTraces(12_630_016, 2_630_016, 1, 0.05)).toBeCloseTo(2_630_016 + 500_000, 6);
  });

  it('the IoT alternative pays connectivity, a message, a rule and two actions per reading instead of the REST front door', () => {
    const estimate = iot();
    expect(line(estimate, 'connection minutes (devices always connected)').quantity).toBeCloseTo(
      1000 * 30.44 * 1440,
      6,
    );
    expect(line(estimate, 'MQTT PUBLISH messages (one reading each)').quantity).toBeCloseTo(READINGS, 3);
    expect(line(estimate, 'rules triggered (one rule per message)').quantity).toBeCloseTo(READINGS, 3);
    expect(line(estimate, 'rule actions (DynamoDBv2 + StepFunctions)').quantity).toBeCloseTo(2 * READINGS, 3);
    expect(service(estimate, 'IoT Core')).toBeCloseTo(
      (1000 * 30.44 * 1440 * 0.08 + READINGS * 1.0 + READINGS * 0.15 + 2 * READINGS * 0.15) / 1e6,
      6,
    );
    expect(estimate.services.flatMap((s) => s.lines).some((l) => l.priceId === 'apigwRestRequests')).toBe(
      false,
    );
    // No ReadingRecorded: two custom events per reading, one push per reading.
    expect(estimate.volumes.customEvents).toBeCloseTo(2 * READINGS, 3);
    expect(line(estimate, 'push: invocations').quantity).toBeCloseTo(READINGS, 3);
    expect(line(estimate, 'enrich-reading executions').quantity).toBeCloseTo(READINGS, 3);
  });

  it('prices tiers on the monthly total: 400M HTTP API requests cost 300M × $1.00 + 100M × $0.90, REST ones 333M × $3.50 + 67M × $2.80', () => {
    const devices = 400_000_000 / (READINGS / 1000);
    expect(line(rest({ devices }), 'HTTP API requests (POST /readings)').cost).toBeCloseTo(
      300 + 100 * 0.9,
      4,
    );
    expect(line(rest({ devices, frontDoor: 'rest' }), 'REST requests (POST /readings)').cost).toBeCloseTo(
      333 * 3.5 + 67 * 2.8,
      4,
    );
  });
});

describe('rollups storage', () => {
  it('holds each stored 1h and 6h bucket a reading fell in, each until the retention of its size', () => {
    const GB = 1024 ** 3;
    const retention = ASSUMPTIONS.rollupsRetentionDays;
    const hourlyDays = retentionDaysOf('1h', retention);
    expect(hourlyDays).toBeLessThan(retention);
    // A reading a minute fills every bucket: 24 + 4 a day. One every 3 hours fills 8 of the 24 1h buckets.
    expect(storedRollupsPerDevice(1, retention, 60)).toBeCloseTo(28);
    expect(storedRollupsPerDevice(1, retention, 10_800)).toBeCloseTo(12);
    // Past a quarter the 1h buckets expire as fast as they are made: only the 6h ones add up.
    expect(storedRollupsPerDevice(365, retention, 60)).toBeCloseTo(24 * hourlyDays + 4 * 365);
    const month = rest();
    const years = rest({ months: 36 });

    expect(line(month, 'rollups storage after 1 month(s)').quantity).toBeCloseTo(
      (1000 * 28 * 30.44 * (500 + 100)) / GB,
      6,
    );
    expect(line(years, 'rollups storage after 36 month(s)').quantity).toBeCloseTo(
      (1000 * (24 * hourlyDays + 4 * retention) * (500 + 100)) / GB,
      6,
    );
  });
});

describe('workflow logs', () => {
  it('logs nothing for successful executions at level ERROR, every state at level ALL', () => {
    const atError = estimateDesign(
      'rest',
      FLEET,
      { ...ASSUMPTIONS, routing: { ...ROUTING, workflowLogLevel: 'ERROR' } },
      PRICES,
    );
    expect(line(atError, 'Step Functions execution logs (level ERROR, with data)').quantity).toBe(0);
    expect(line(rest(), 'Step Functions execution logs (level ALL, with data)').quantity).toBeCloseTo(
      (READINGS * SIZES.sfnLogBytesPerExecution) / 2 ** 30,
      6,
    );
  });
});

describe('batching', () => {
  it('lowers API Gateway, Lambda, event, workflow and per-upload DynamoDB costs, and an unwatched device’s readings’ writes, packed by the hour', () => {
    const one = rest({ alertsPerDevicePerDay: 1, dashboards: 1 });
    const ten = rest({ batch: 10, alertsPerDevicePerDay: 1, dashboards: 1 });
    expect(line(ten, 'HTTP API requests (POST /readings)').cost).toBeCloseTo(
      line(one, 'HTTP API requests (POST /readings)').cost / 10,
      9,
    );
    expect(line(ten, 'ingest: invocations').cost).toBeLessThan(line(one, 'ingest: invocations').cost);
    expect(line(ten, 'ingest: duration').cost).toBeLessThan(line(one, 'ingest: duration').cost);

    // Every device is watched (one dashboard follows them all): its readings are puts of their own, whatever the batch.
    expect(line(ten, READINGS_WRITES).quantity).toBeCloseTo(line(one, READINGS_WRITES).quantity, 3);
    // Nobody watching, ten readings are one append to their hour item (two, across an hour), where
    // a lone reading is a put of its own.
    const unwatched = (batch: number) => line(rest({ batch }), READINGS_WRITES).quantity;
    expect(unwatched(10)).toBeLessThan(unwatched(1) / 2);
    // The enrichment is written once per hour of an upload: fewer writes, more units each.
    const enrichmentWrites = 'enrichments: PutItem per hour of an upload (DeriveMetrics)';
    expect(line(ten, enrichmentWrites).quantity).toBeLessThan(line(one, enrichmentWrites).quantity / 2);
    // One upload is one event of each kind, one execution, one push: those fall tenfold.
    for (const item of [
      'enrich-reading executions',
      'devices: UpdateItem window and lastReading (DeriveMetrics)',
    ]) {
      expect(line(ten, item).quantity, item).toBeCloseTo(line(one, item).quantity / 10, 3);
    }
    expect(units(ten, 'dynamoWrite')).toBeLessThan(units(one, 'dynamoWrite'));
    expect(ten.volumes.customEvents).toBeLessThan(one.volumes.customEvents);
    expect(service(ten, 'Step Functions')).toBeLessThan(service(one, 'Step Functions'));
    expect(ten.total).toBeLessThan(one.total);
  });
});

describe('uploads as the code makes them: watched devices stream, the others buffer', () => {
  /** 10 % watched: 1,000 devices, 10 dashboards following 10 each, no --batch. */
  const adaptive = (inputs: Partial<CostInputs> = {}): Partial<CostInputs> => ({
    batch: undefined,
    dashboards: 10,
    devicesPerDashboard: 10,
    ...inputs,
  });

  it('prices an unwatched device’s upload at ⌈bufferSeconds / interval⌉ readings, at most 100, and a watched one’s at 1', () => {
    const shape = (inputs: Partial<CostInputs>) => uploadShapeOf({ ...FLEET, ...adaptive(inputs) });

    expect(shape({ intervalSeconds: 300 })).toEqual({
      watchedUploadReadings: 1,
      unwatchedUploadReadings: UNWATCHED_BUFFER_SECONDS / 300,
      watchedFraction: 0.1,
      uploadsPerReading: 0.1 + 0.9 / (UNWATCHED_BUFFER_SECONDS / 300),
    });
    expect(shape({ intervalSeconds: 600, bufferSeconds: 900 }).unwatchedUploadReadings).toBe(2);
    expect(shape({ intervalSeconds: 1, bufferSeconds: 900 }).unwatchedUploadReadings).toBe(100);
    expect(shape({ intervalSeconds: 60, bufferSeconds: 0 }).unwatchedUploadReadings).toBe(1);
    expect(shape({ intervalSeconds: 60, batch: 7 })).toMatchObject({
      watchedUploadReadings: 7,
      unwatchedUploadReadings: 7,
    });
  });

  it('adds an upload of what an unwatched device holds for each crossing of an alarm limit, two an alert', () => {
    const shape = (inputs: Partial<CostInputs>) => uploadShapeOf({ ...FLEET, ...adaptive(inputs) });

    // Every 5 minutes, 288 readings a day: 24 uploads of 12, and 2 more on the alert's crossings.
    expect(shape({ intervalSeconds: 300, alertsPerDevicePerDay: 1 }).unwatchedUploadReadings).toBeCloseTo(
      288 / 26,
      9,
    );
    // A device that posts each reading anyway posts no more for its alerts.
    expect(
      shape({ intervalSeconds: 300, bufferSeconds: 0, alertsPerDevicePerDay: 5 }).unwatchedUploadReadings,
    ).toBe(1);
    // Every device posting a batch of K is priced at K, as asked.
    expect(shape({ intervalSeconds: 300, batch: 7, alertsPerDevicePerDay: 1 }).unwatchedUploadReadings).toBe(
      7,
    );
  });

  it('counts the requests, and the ingest invocations, of both kinds of device', () => {
    const estimate = rest(adaptive({ bufferSeconds: 600 }));
    // Every 60 s: a watched device posts each reading, the others 10 at once.
    const requests = READINGS * (0.1 + 0.9 / 10);

    expect(line(estimate, 'HTTP API requests (POST /readings)').quantity).toBeCloseTo(requests, 3);
    expect(line(estimate, 'ingest: invocations').quantity).toBeCloseTo(requests, 3);
    expect(estimate.volumes.requestsPerMonth).toBeCloseTo(requests, 3);
  });

  it('costs less than streaming every device, and more than every device buffering', () => {
    const streaming = rest(adaptive({ batch: 1 }));
    const mixed = rest(adaptive({ bufferSeconds: 600 }));
    const allBuffered = rest(adaptive({ batch: 10 }));

    expect(mixed.total).toBeLessThan(streaming.total);
    expect(mixed.total).toBeGreaterThan(allBuffered.total);
  });

  it('reports the upload sizes it used in the inputs', () => {
    const report = estimate(
      { ...FLEET, ...adaptive({ intervalSeconds: 300 }) } as CostInputs,
      ASSUMPTIONS,
      PRICES,
    );

    expect(report.inputs).toMatchObject({
      watchedFraction: 0.1,
      bufferSeconds: UNWATCHED_BUFFER_SECONDS,
      watchedUploadReadings: 1,
      unwatchedUploadReadings: UNWATCHED_BUFFER_SECONDS / 300,
    });
  });

  it('prices the watched devices and the others apart, each as a fleet of its own', () => {
    const inputs = {
      ...FLEET,
      ...adaptive({ intervalSeconds: 300, alertsPerDevicePerDay: 1 }),
    } as CostInputs;
    const { shares, rest: whole } = estimate(inputs, ASSUMPTIONS, PRICES);

    // 10 dashboards × 10 devices of 1000: 100 watched, 900 not.
    expect(shares?.watched.devices).toBe(100);
    expect(shares?.unwatched.devices).toBe(900);
    expect(shares?.watched.total).toBeCloseTo(
      estimateDesign('rest', { ...inputs, devices: 100 }, ASSUMPTIONS, PRICES).total,
      9,
    );
    expect(shares?.unwatched.total).toBeCloseTo(
      estimateDesign('rest', { ...inputs, devices: 900, dashboards: 0 }, ASSUMPTIONS, PRICES).total,
      9,
    );
    // A watched device streams, so it costs more than one that buffers.
    expect(shares?.watched.perDevice ?? 0).toBeGreaterThan(shares?.unwatched.perDevice ?? 0);
    // Apart they cost more than together, by what a fleet pays once (alarms, a key, metrics) and
    // tiers each fleet alone reaches less: for a fleet this small, a quarter more.
    const apart = (shares?.watched.total ?? 0) + (shares?.unwatched.total ?? 0);
    expect(apart).toBeGreaterThan(whole.total);
    expect(apart / whole.total).toBeLessThan(1.3);
  });

  it('leaves the shares out when every device posts alike', () => {
    const adaptiveFleet = { ...FLEET, ...adaptive({ intervalSeconds: 300 }) } as CostInputs;

    expect(estimate({ ...adaptiveFleet, batch: 5 }, ASSUMPTIONS, PRICES).shares).toBeUndefined();
    expect(estimate({ ...adaptiveFleet, dashboards: 0 }, ASSUMPTIONS, PRICES).shares).toBeUndefined();
    expect(estimate({ ...adaptiveFleet, dashboards: 100 }, ASSUMPTIONS, PRICES).shares).toBeUndefined();
  });
});

describe('monotonicity', () => {
  it('more devices never cost less, in either design', () => {
    for (const design of ['rest', 'iot'] as const) {
      let previous = -1;
      for (const devices of [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]) {
        const total = estimateDesign(design, { ...FLEET, devices }, ASSUMPTIONS, PRICES).total;
        expect(total, `${design} ${devices}`).toBeGreaterThanOrEqual(previous);
        previous = total;
      }
    }
  });

  it('holds for any fleet: more devices, or shorter intervals, are never cheaper', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        (a, b, interval, batch, alerts, dashboards) => {
          const [fewer, more] = a <= b ? [a, b] : [b, a];
          const inputs = {
            ...FLEET,
            intervalSeconds: interval,
            batch,
            alertsPerDevicePerDay: alerts,
            dashboards,
          };
          for (const design of ['rest', 'iot'] as const) {
            const small = estimateDesign(design, { ...inputs, devices: fewer }, ASSUMPTIONS, PRICES).total;
            const large = estimateDesign(design, { ...inputs, devices: more }, ASSUMPTIONS, PRICES).total;
            if (large + 1e-9 < small) return false;
            const slower = estimateDesign(
              design,
              { ...inputs, devices: more, intervalSeconds: interval * 2 },
              ASSUMPTIONS,
              PRICES,
            ).total;
            if (large + 1e-9 < slower) return false;
          }
          return true;
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('report', () => {
  const report = estimate(
    { ...FLEET, alertsPerDevicePerDay: 1, dashboards: 1, months: 12 },
    ASSUMPTIONS,
    PRICES,
  );

  it('totals are the sum of the lines, and per-device and per-million-readings follow from them', () => {
    for (const e of [report.rest, report.iot]) {
      const lines = e.services.flatMap((s) => s.lines);
      expect(e.total).toBeCloseTo(
        lines.reduce((sum, l) => sum + l.cost, 0),
        9,
      );
      for (const s of e.services)
        expect(s.cost).toBeCloseTo(
          s.lines.reduce((sum, l) => sum + l.cost, 0),
          9,
        );
      expect(e.perDevice).toBeCloseTo(e.total / 1000, 9);
      expect(e.perMillionReadings).toBeCloseTo(e.total / 43.8336, 9);
      for (const l of lines) expect(Number.isFinite(l.cost) && l.cost >= 0, l.item).toBe(true);
    }
  });

  it('renders a table per design with totals, the comparison, the assumptions and the unverified prices', () => {
    const text = renderText(report);
    expect(text).toContain('43,833,600 readings/month');
    expect(text).toContain('Total per month');
    expect(text).toContain('Comparison by service');
    expect(text).toContain('IoT Core');
    expect(text).toContain('Key assumptions:');
    expect(text).toContain(
      `Prices recalled, not checked against AWS's price pages: the ${unverifiedPrices().length} below. Every other price was checked against a copy of its page read on ${PRICES_READ_ON}.`,
    );
    expect(text).toContain(
      '  - DynamoDB: Point-in-time recovery (continuous backups), per GB-month of table size: $0.20 per GB-month. Recalled, not checked.',
    );
    expect(text).toContain('$1.00 per 1M messages, then $0.80 and $0.70 at higher volumes.');
    expect(text).not.toContain('stored material');
    expect(text).toContain('Free tier (not applied above)');
  });

  it('prints one JSON object with both designs', () => {
    const parsed = JSON.parse(renderJson(report)) as Record<string, unknown>;
    expect(parsed.region).toBe('us-east-1');
    expect(parsed).toHaveProperty('sensorbus.total');
    expect(parsed).toHaveProperty('iotCore.total');
    expect(parsed).toHaveProperty('comparison.iotMinusSensorbus');
  });

  it('rejects fleets it cannot price', () => {
    expect(() => estimate({ ...FLEET, batch: 101 }, ASSUMPTIONS, PRICES)).toThrow(/batch/);
    expect(() => estimate({ ...FLEET, batch: 0 }, ASSUMPTIONS, PRICES)).toThrow(/batch/);
    expect(() => estimate({ ...FLEET, intervalSeconds: 0 }, ASSUMPTIONS, PRICES)).toThrow(/interval/);
    expect(() => estimate({ ...FLEET, devices: -1 }, ASSUMPTIONS, PRICES)).toThrow(/devices/);
  });
});

describe('the dashboard and the REST stage’s detailed metrics', () => {
  const assumptions: Assumptions = {
    ...ASSUMPTIONS,
    dashboardBundle: { files: 4, bytes: 200 * 1024, source: 'test' },
    dashboardLoadsPerDay: 2,
    restDetailedMetrics: { methods: 10, metricsPerMethod: 7 },
  };
  const at = (design: 'rest' | 'iot', dashboards: number) =>
    estimateDesign(design, { ...FLEET, dashboards }, assumptions, PRICES);

  it('prices each dashboard load as CloudFront requests for every file, the whole bundle out, and one S3 revalidation', () => {
    const estimate = at('rest', 1000);
    const loads = 1000 * 2 * 30.44;
    expect(line(estimate, 'dashboard: page and asset requests').quantity).toBeCloseTo(loads * 4, 6);
    expect(line(estimate, 'dashboard: bundle transferred').quantity).toBeCloseTo(
      (loads * 200 * 1024) / 1024 ** 3,
      6,
    );
    expect(line(estimate, 'dashboard: page revalidated at the S3 origin').quantity).toBeCloseTo(loads, 6);
    expect(service(estimate, 'CloudFront')).toBeGreaterThan(0);
    expect(service(at('iot', 1000), 'CloudFront')).toBeCloseTo(service(estimate, 'CloudFront'), 9);
  });

  it('prices 7 custom metrics per REST method for the REST design only, $0.30 each', () => {
    expect(line(at('rest', 0), 'REST API detailed metrics (metricsEnabled on the stage)')).toMatchObject({
      quantity: 70,
      cost: 21,
    });
    expect(() => line(at('iot', 0), 'REST API detailed metrics (metricsEnabled on the stage)')).toThrow();
  });
});
