import { describe, expect, it } from 'vitest';
import { tables } from '../../../../infra/topology.ts';
import { defaultAssumptions } from '../../../../tools/cost/defaults.ts';
import { readUnits } from '../../../../tools/cost/dynamo-size.ts';
import {
  drift,
  loadMeasuredUnits,
  type MeasuredUnits,
  storedBucketsPerUpload,
  unitsPerUpload,
} from '../../../../tools/cost/measured.ts';
import { measuredFlow } from '../../../../tools/cost/measured-uses.ts';
import {
  type CostInputs,
  enrichmentItemsOfUpload,
  enrichmentWriteUnits,
  estimate,
  watchedFractionOf,
} from '../../../../tools/cost/model.ts';
import { PRICES } from '../../../../tools/cost/prices.ts';
import { concurrency, fleetQuotas, increasesToRequest } from '../../../../tools/cost/quotas.ts';
import { measureSizes } from '../../../../tools/cost/sizes.ts';

/** A measurement of a made-up design: per upload 1 request, 2 WRU + 1 per reading, 1 event; 1 push per watcher. */
const MEASURED: MeasuredUnits = {
  commit: 'abc123',
  deadLetters: 0,
  workload: { devices: 2, uploadsPerDevice: 2, metricsPerReading: 3 },
  scenarios: [
    {
      name: 'b1 w0',
      batch: 1,
      watchers: 0,
      uploads: 4,
      perUpload: {
        'apigateway/httpRequests': 1,
        'dynamodb/wru/readings': 3,
        'events/customEvents': 1,
        'lambda/ms/ingest': 40,
      },
    },
    {
      name: 'b10 w0',
      batch: 10,
      watchers: 0,
      uploads: 4,
      perUpload: { 'apigateway/httpRequests': 1, 'dynamodb/wru/readings': 12, 'events/customEvents': 1 },
    },
    {
      name: 'b1 w1',
      batch: 1,
      watchers: 1,
      uploads: 4,
      perUpload: {
        'apigateway/httpRequests': 1,
        'dynamodb/wru/readings': 3,
        'events/customEvents': 2,
        'apigateway/websocketMessages': 1,
      },
    },
    {
      name: 'b10 w1',
      batch: 10,
      watchers: 1,
      uploads: 4,
      perUpload: {
        'apigateway/httpRequests': 1,
        'dynamodb/wru/readings': 12,
        'events/customEvents': 2,
        'apigateway/websocketMessages': 1,
      },
    },
    {
      name: 'b1 w2',
      batch: 1,
      watchers: 2,
      uploads: 4,
      perUpload: {
        'apigateway/httpRequests': 1,
        'dynamodb/wru/readings': 3,
        'events/customEvents': 2,
        'apigateway/websocketMessages': 2,
      },
    },
    {
      name: 'b10 w2',
      batch: 10,
      watchers: 2,
      uploads: 4,
      perUpload: {
        'apigateway/httpRequests': 1,
        'dynamodb/wru/readings': 12,
        'events/customEvents': 2,
        'apigateway/websocketMessages': 2,
      },
    },
  ],
  perAlert: { 'sns/publishes': 2, 'lambda/invocations/alertNotifier': 2 },
  schedules: {
    silenceCheck: {
      devices: 10,
      perRun: { 'lambda/invocations/silenceCheck': 1, [`dynamodb/rru/${tables.devices.name}`]: 1 },
    },
    alertEscalation: {
      devices: 10,
      perRun: { 'lambda/invocations/alertEscalation': 1, 'dynamodb/rru/alerts': 1 },
    },
  },
};

describe('measured units', () => {
  it('interpolate linearly in the batch between the measured batch sizes', () => {
    const at = (batch: number) =>
      unitsPerUpload(MEASURED, {
        batch,
        watchedFraction: 0,
        watchersPerWatchedDevice: 0,
        intervalSeconds: 60,
      });
    expect(at(1)['dynamodb/wru/readings']).toBe(3);
    expect(at(10)['dynamodb/wru/readings']).toBe(12);
    expect(at(4)['dynamodb/wru/readings']).toBeCloseTo(6);
    expect(at(100)['dynamodb/wru/readings']).toBeCloseTo(102);
  });

  it('add what the first watcher costs for the watched share, and each further watcher beyond it', () => {
    const units = unitsPerUpload(MEASURED, {
      batch: 1,
      watchedFraction: 0.1,
      watchersPerWatchedDevice: 3,
      intervalSeconds: 60,
    });
    expect(units['events/customEvents']).toBeCloseTo(1 + 0.1);
    expect(units['apigateway/websocketMessages']).toBeCloseTo(0.1 * 1 + 0.1 * 2 * 1);
  });

  it('price the rollups per stored bucket an upload spreads over at its interval, not per reading', () => {
    const rollups = `dynamodb/wru/${tables.rollups.name}`;
    // Uploads of 1 touch a 1h and a 6h bucket; uploads of 10 a minute apart across an hour's end, 3.
    const measured: MeasuredUnits = {
      ...MEASURED,
      scenarios: MEASURED.scenarios.map((scenario) => ({
        ...scenario,
        rollupBuckets: scenario.batch === 1 ? 2 : 3,
        perUpload: { ...scenario.perUpload, [rollups]: scenario.batch === 1 ? 2 : 3 },
      })),
    };
    const at = (batch: number, intervalSeconds: number) =>
      unitsPerUpload(measured, { batch, watchedFraction: 0, watchersPerWatchedDevice: 0, intervalSeconds })[
        rollups
      ];

    expect(at(1, 60)).toBeCloseTo(2);
    // 60 readings a minute apart: 1 + 59 × 60/3,600 buckets of 1h, 1 + 59 × 60/21,600 of 6h.
    expect(at(60, 60)).toBeCloseTo(1 + (59 * 60) / 3600 + 1 + (59 * 60) / 21_600);
    // Readings an hour apart never share a 1h bucket: one each.
    expect(at(12, 3600)).toBeCloseTo(12 + 1 + (11 * 3600) / 21_600);
    expect(storedBucketsPerUpload(1, 300)).toBe(2);
  });

  it('price the enrichments from their items’ sizes, which give the write units the committed measurement counted', () => {
    const committed = loadMeasuredUnits();
    const sizes = measureSizes(committed.workload.metricsPerReading, 60);
    const unit = `dynamodb/wru/${tables.enrichments.name}`;
    // The measured uploads' readings are a minute apart within one hour: one item each.
    for (const scenario of committed.scenarios)
      expect(enrichmentWriteUnits(sizes, scenario.batch, 1), scenario.name).toBe(scenario.perUpload[unit]);
    // 60 readings a minute apart span two hours on average, 30 readings an item of about 6 KB each.
    expect(enrichmentItemsOfUpload(60, 60)).toBeCloseTo(1.983, 3);
    expect(enrichmentWriteUnits(sizes, 60, enrichmentItemsOfUpload(60, 60))).toBeGreaterThan(
      2 * enrichmentWriteUnits(sizes, 10, 1),
    );
  });

  it('drift compares every unit but durations, a unit only one side has drifting by 1', () => {
    const d = drift({ a: 10, b: 4, 'lambda/ms/x': 10 }, { a: 10.5, c: 1, 'lambda/ms/x': 99 });
    expect(d.a).toBeCloseTo(0.5 / 10.5);
    expect(d.b).toBe(1);
    expect(d.c).toBe(1);
    expect(d).not.toHaveProperty('lambda/ms/x');
  });

  it("map to prices, the front door choosing the devices' requests' REST or HTTP API price; an unknown unit is refused", () => {
    expect(measuredFlow({ 'apigateway/httpRequests': 5 }, 'uploads', 'http').uses[0]?.priceId).toBe(
      'apigwHttpRequests',
    );
    expect(measuredFlow({ 'apigateway/httpRequests': 5 }, 'uploads', 'rest').uses[0]?.priceId).toBe(
      'apigwRestRequests',
    );
    expect(measuredFlow({ 'apigateway/restRequests': 5 }, 'uploads', 'http').uses[0]?.priceId).toBe(
      'apigwRestRequests',
    );
    const flow = measuredFlow(
      { 'events/forwardedEvents': 3, 'events/customEvents': 2, 'lambda/invocations/push': 7 },
      'x',
      'rest',
    );
    expect([flow.customEvents, flow.forwardedEvents, flow.invocations.push]).toEqual([5, 3, 7]);
    expect(() => measuredFlow({ 'kinesis/shardHours': 1 }, 'x', 'rest')).toThrow(/kinesis\/shardHours/);
  });
});

const FLEET: CostInputs = {
  devices: 1_000_000,
  intervalSeconds: 300,
  batch: 1,
  alertsPerDevicePerDay: 1,
  dashboards: 1_000,
  devicesPerDashboard: 100,
  months: 12,
  retentionDays: 30,
  emailSubscribers: 1,
};
const SECONDS = 30.44 * 86_400;

describe('an estimate from measured units', () => {
  const a = defaultAssumptions({ measured: MEASURED });
  const report = estimate(FLEET, a, PRICES);
  const uploads = (FLEET.devices * SECONDS) / FLEET.intervalSeconds;

  it('names the watched fraction: 1,000 dashboards × 100 devices of 1M is 10%', () => {
    expect(watchedFractionOf(FLEET)).toBeCloseTo(0.1);
    expect(report.inputs.watchedFraction).toBeCloseTo(0.1);
  });

  it('multiplies the measured units per upload by the uploads of the month', () => {
    expect(report.rest.unitsPerReading).toMatchObject({ source: 'measured', commit: 'abc123', batch: 1 });
    expect(report.rest.unitsPerReading?.units['events/customEvents']).toBeCloseTo(1.1);
    const requests = report.rest.services
      .flatMap((s) => s.lines)
      .filter((l) => l.priceId === 'apigwHttpRequests');
    expect(requests.reduce((sum, l) => sum + l.quantity, 0)).toBeCloseTo(uploads);
  });

  it('prices alerts from the measured units of one alert: 2 publishes and 2 emails each', () => {
    const lines = report.rest.services.flatMap((s) => s.lines);
    const alerts = FLEET.devices * 30.44;
    expect(lines.find((l) => l.priceId === 'snsRequests')?.quantity).toBeCloseTo(2 * alerts);
    expect(lines.find((l) => l.priceId === 'snsEmail')?.quantity).toBeCloseTo(2 * alerts);
  });

  it('is cheaper behind the HTTP API than behind a REST API and its device-key authorizer', () => {
    const rest = estimate({ ...FLEET, frontDoor: 'rest' }, a, PRICES);
    const lines = (r: typeof report) => r.rest.services.flatMap((s) => s.lines);
    expect(report.rest.total).toBeLessThan(rest.rest.total);
    expect(lines(report).some((l) => l.item.startsWith('deviceKeyAuthorizer'))).toBe(false);
    expect(lines(rest).find((l) => l.item === 'deviceKeyAuthorizer: invocations')?.quantity).toBeCloseTo(
      uploads,
    );
  });

  it('stores a retention of readings, not every reading ever: twice the retention, twice the storage', () => {
    const storage = (r: typeof report) =>
      r.rest.services.flatMap((s) => s.lines).find((l) => l.priceId === 'dynamoStorage')?.quantity ?? 0;
    const longer = estimate({ ...FLEET, retentionDays: 60 }, a, PRICES);
    expect(storage(longer)).toBeGreaterThan(1.9 * storage(report) * 0.9);
    expect(estimate({ ...FLEET, months: 24 }, a, PRICES).rest.total).toBeLessThan(report.rest.total * 1.05);
  });

  it('lists the quotas the fleet loads, the uploads against the stage throttle sized for the fleet', () => {
    const stage = report.quotas.find((q) =>
      q.name.startsWith('API Gateway: HTTP API $default stage throttle'),
    );
    expect(stage?.load).toBeCloseTo(FLEET.devices / FLEET.intervalSeconds);
    expect(stage?.exceeded).toBe(false);
    expect(report.quotas.map((q) => q.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Lambda: concurrent/),
        expect.stringMatching(/^EventBridge: PutEvents/),
      ]),
    );
  });
});

describe('the silence check at a fleet’s size', () => {
  const assumptions = defaultAssumptions({ measured: MEASURED });
  const at = (devices: number) =>
    estimate({ ...FLEET, devices, intervalSeconds: 300 }, assumptions, PRICES).quotas;
  const run = (quotas: ReturnType<typeof at>) =>
    quotas.find((q) => q.name.startsWith('Silence check: seconds per run'));

  it('reads a million devices in parallel segments well within its one-minute schedule', () => {
    const quotas = at(1_000_000);
    expect(run(quotas)).toMatchObject({ limit: 60, exceeded: false });
    expect(run(quotas)?.load).toBeLessThan(30);
    // The Scan reads a million device items of the sample's size, spread over the run (the measured
    // run's 10 devices for 1 RRU, one page rounded up to 4 KB, are not scaled up).
    const perRun = readUnits(1_000_000 * assumptions.sizes.deviceItem, 'eventual');
    const reads = quotas.find((q) => q.name.endsWith('devices, while a silence check’s Scan runs'));
    expect(reads?.load).toBeCloseTo(perRun / (run(quotas)?.load ?? 1), 3);
  });

  it('reserves concurrency for the push within the account’s default at 1M × 1/5 min, not at 1/min', () => {
    const reserved = (intervalSeconds: number) =>
      estimate({ ...FLEET, intervalSeconds }, assumptions, PRICES).quotas.find((q) =>
        q.name.includes('reserved by the stage sized for the fleet'),
      );
    // 3,333 uploads/s × 3 × 40 ms = 400 for the push, + 100 unreserved.
    expect(reserved(300)).toMatchObject({ load: 500, exceeded: false });
    expect(reserved(60)).toMatchObject({ load: 2_100, exceeded: true });
  });

  it('would overrun it without the segments: the reading alone, one segment, takes 150 s at 1M', () => {
    const { silenceCheckPerThousandDevices } = assumptions.lambdaMs;
    expect((silenceCheckPerThousandDevices * 1_000_000) / 1000 / 1000).toBeGreaterThan(60);
    expect(run(at(1_000))?.load).toBeLessThan(1);
  });
});

describe('quota arithmetic', () => {
  it('counts concurrency by Little’s law: 2,000 invocations/s of 250 ms keep 500 running', () => {
    expect(concurrency(2_000, 250)).toBe(500);
  });

  it('flags a load over its limit and asks for twice the load', () => {
    const quotas = fleetQuotas({
      uploadsPerSecond: 16_667,
      websocketMessagesPerSecond: 0,
      newWebSocketConnectionsPerSecond: 0.1,
      lambdaConcurrency: 900,
      putEventsEntriesPerSecond: 0,
      ruleInvocationsPerSecond: 0,
      expressStartsPerSecond: 0,
      snsPublishesPerSecond: 0,
      tableWritesPerSecond: { readings: 50_000 },
      tableReadsPerSecond: {},
      stageRateLimit: 50_000,
      silenceCheck: { readUnitsPerRun: 60_000, secondsPerRun: 20, periodSeconds: 60 },
      reservedConcurrency: 200,
    });
    const exceeded = quotas.filter((q) => q.exceeded).map((q) => q.name);
    expect(exceeded).toEqual([
      expect.stringMatching(/^API Gateway: requests per second per account/),
      expect.stringMatching(/write request units per second per on-demand table: readings$/),
    ]);
    const increases = increasesToRequest(quotas);
    expect(increases).toHaveLength(2);
    expect(increases[0]).toMatch(/10,000 → ≥ 33,334 requests\/s/);
  });
});
