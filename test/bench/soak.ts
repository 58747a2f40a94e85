/**
 * `npm run soak -- [--minutes M] [--clients N] [--devices D] [--follow F] [--drain-minutes M] [--ceiling R]`:
 * the local cloud under 5× its ingest ceiling (the REST stage's throttle rate, `infra/api.ts`, or R) for
 * M minutes (default 10) from D devices (default 50), with N WebSocket clients (default 50) each
 * following F of them (default 5; every device has as many followers), as a fleet's dashboards
 * would: one device's uploads are enriched one after the other (each moves the device's window
 * on), so a few devices posting the whole load would measure a queue per device, not the system. It prints,
 * as figures and never as timing asserts: resident memory over time (against 1.5 GiB), what the
 * gateway answered, whether every refused request got 429 with `Retry-After`, whether every
 * accepted reading was stored, announced, enriched and pushed to every client exactly once once
 * the load stopped, and how long the backlog took to drain. Bounded: it posts for M minutes at a
 * fixed rate, then waits at most `--drain-minutes` (default 10) for the backlog (the requests
 * still open included). The overload is judged on what was sent against what was accepted: a
 * machine whose cloud accepts less than the stage's ceiling answers slowly enough that the
 * sender, at its bound of open requests, cannot post all it offers; the figures say how much it
 * offered, sent, and could not send. A warm-up reading
 * goes through every function first, off the clock. Every figure carries the machine's load
 * average; the last lines are one PASS/FAIL verdict per criterion of the overload issue.
 *
 * Readings are counted by `readingId` across events, whatever number of readings an event carries.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { STAGE_THROTTLE } from '../../infra/api.ts';
import { buses, tables } from '../../infra/topology.ts';
import { startLocalCloud } from '../../local-cloud/launcher/cloud.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import { limitHeapGrowth } from '../../local-cloud/launcher/heap-growth.ts';
import { retryAfterMs } from '../../local-cloud/launcher/simulator.ts';
import { edgeDynamo } from '../support/local-cloud.ts';

const GIB = 2 ** 30;
const MEMORY_BOUND_BYTES = 1.5 * GIB;
const OVERLOAD = 5;
/**
 * Requests the sender keeps open at most; past it the soak counts what it could not send. The
 * sender shares the process, and its memory, with the cloud: at 4,096 open requests (the gateway
 * holds one it admitted while its functions' invocations wait, up to half the 29 s integration
 * timeout) half the posts failed to connect and the requests' memory rose to 1 GB. So on a
 * machine whose cloud accepts far less than the stage's throttle the sender cannot post all it
 * offers; the overload criterion then compares what was sent with what was accepted.
 */
const MAX_OPEN_REQUESTS = 512;
const SAMPLE_EVERY_MS = 5000;
/** What the push rule forwards of a reading (`infra/topology.ts`): its enriched event, once. */
const PUSHED_TYPES = ['ReadingEnriched'] as const;

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '50' },
    devices: { type: 'string', default: '50' },
    follow: { type: 'string', default: '5' },
    'drain-minutes': { type: 'string', default: '10' },
    ceiling: { type: 'string' },
  },
});
const positive = (name: string, raw: string): number => {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`--${name} must be a positive number, not ${raw}`);
  return value;
};
const minutes = positive('minutes', flags.minutes);
const clientCount = Math.round(positive('clients', flags.clients));
const deviceCount = Math.round(positive('devices', flags.devices));
const followCount = Math.min(deviceCount, Math.round(positive('follow', flags.follow)));
const drainMinutes = positive('drain-minutes', flags['drain-minutes']);

/**
 * The ingest ceiling: the REST stage's throttle rate as deployed, or `--ceiling` requests/s (what
 * this machine sustains), which then becomes the local stage's rate (burst twice that).
 */
const ceiling =
  flags.ceiling === undefined ? STAGE_THROTTLE.rest.rateLimit : positive('ceiling', flags.ceiling);
const rate = OVERLOAD * ceiling;
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MB`;
const count = (n: number) => n.toLocaleString('en-US');
const print = (line: string) => console.log(line);
/** The machine's load average (1, 5, 15 minutes): every figure is read against it. */
const load = () =>
  `load ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}`;

// The cloud's heaps sized as `npm start` sizes them.
limitHeapGrowth();
const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-soak-'));
const tokenSigningKey = newSigningKey();
const cloud = await startLocalCloud({
  dataDir,
  tokenSigningKey,
  awsCredentials: newAwsCredentials(),
  logLevel: 'ERROR',
  log: () => {},
  ...(flags.ceiling === undefined
    ? {}
    : {
        stageThrottle: {
          rest: { rateLimit: ceiling, burstLimit: 2 * ceiling },
          websocket: STAGE_THROTTLE.websocket,
        },
      }),
});
/** Resident memory once the cloud started (no execution environment yet: they start on demand). */
const rssAfterStart = process.memoryUsage.rss();
const key = signingKeyFrom(tokenSigningKey);
const admin = (await signToken(key, { role: 'admin', deviceIds: '*' }, 24 * 3600)).token;
const viewer = (await signToken(key, { role: 'viewer', deviceIds: '*' }, 24 * 3600)).token;

const deviceIds = Array.from({ length: deviceCount }, (_, i) => `soak-${i + 1}`);
const apiKeys = new Map<string, string>();
/** Set-up calls a busy machine may refuse: sent again after `Retry-After`, as a client does, a bounded number of times. */
const SETUP_ATTEMPTS = 60;
for (const deviceId of deviceIds) {
  const register = () =>
    fetch(`${cloud.apiUrl}/devices/${deviceId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
  let response = await register();
  for (let attempt = 1; attempt < SETUP_ATTEMPTS && response.status === 429; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs(response)));
    response = await register();
  }
  const body = (await response.json()) as { apiKey?: string };
  if (!body.apiKey) throw new Error(`registering ${deviceId}: ${response.status}`);
  apiKeys.set(deviceId, body.apiKey);
}

/** readingId → how many times each thing happened to it. */
const announced = new Map<string, number>();
const enriched = new Map<string, number>();
const bump = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1);
/** Every `readingId` an event's data names, one reading or many. */
const readingIdsOf = (data: unknown): string[] => {
  if (Array.isArray(data)) return data.flatMap(readingIdsOf);
  if (typeof data !== 'object' || data === null) return [];
  const own = 'readingId' in data && typeof data.readingId === 'string' ? [data.readingId] : [];
  return [
    ...own,
    ...Object.values(data).flatMap((value) => (typeof value === 'object' ? readingIdsOf(value) : [])),
  ];
};
cloud.events.subscribe((event, bus) => {
  if (bus !== buses.telemetry.name) return;
  const ids = readingIdsOf(event.detail.data);
  if (event['detail-type'] === 'ReadingRecorded') for (const id of ids) bump(announced, id);
  if (event['detail-type'] === 'ReadingEnriched') for (const id of ids) bump(enriched, id);
});

type PushCounts = Record<(typeof PUSHED_TYPES)[number], Map<string, number>>;
/** Per client, per push type: readingId → pushes received. */
const pushes = Array.from(
  { length: clientCount },
  () => Object.fromEntries(PUSHED_TYPES.map((type) => [type, new Map<string, number>()])) as PushCounts,
);
const sockets: WebSocket[] = [];
/** A dashboard's connection, connected again after `Retry-After` while the gateway refuses it with 429. */
const connect = async (): Promise<WebSocket> => {
  for (let attempt = 1; ; attempt++) {
    const socket = new WebSocket(`${cloud.wsUrl}/?token=${encodeURIComponent(viewer)}`);
    const retryAfter = await new Promise<number | undefined>((resolve, reject) => {
      socket.once('open', () => resolve(undefined));
      socket.once('unexpected-response', (_req, res) =>
        res.statusCode === 429 && attempt < SETUP_ATTEMPTS
          ? resolve(1000 * Number(res.headers['retry-after'] ?? 1))
          : reject(new Error(`WebSocket connect refused: ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
    if (retryAfter === undefined) return socket;
    await new Promise((resolve) => setTimeout(resolve, retryAfter));
  }
};
/** The devices each client follows: consecutive runs of `followCount`, so every device has as many followers. */
const followed = Array.from({ length: clientCount }, (_, i) =>
  Array.from({ length: followCount }, (_, j) => deviceIds[(i * followCount + j) % deviceCount] ?? 'soak-1'),
);
/** deviceId → the clients that follow it. */
const followers = new Map<string, number[]>(deviceIds.map((deviceId) => [deviceId, []]));
followed.forEach((devices, client) => {
  for (const deviceId of devices) followers.get(deviceId)?.push(client);
});
for (let i = 0; i < clientCount; i++) {
  const socket = await connect();
  sockets.push(socket);
  const received = pushes[i];
  const subscribe = () => socket.send(JSON.stringify({ action: 'subscribe', deviceIds: followed[i] }));
  const subscribed = new Promise((resolve) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type?: string; data?: unknown; message?: string };
      if (message.type === 'subscribed') resolve(undefined);
      // A throttled message is not routed: the dashboard sends it again a second later.
      if (message.message === 'Too Many Requests') setTimeout(subscribe, 1000);
      const type = PUSHED_TYPES.find((t) => t === message.type);
      if (type && received) for (const id of readingIdsOf(message.data)) bump(received[type], id);
    });
  });
  subscribe();
  await subscribed;
}

// The load: `rate` single-reading posts a second, spread over the devices, for `minutes`.
/** readingId → its device, for every reading answered 202. */
const accepted = new Map<string, string>();
const statuses = new Map<number, number>();
let throttledWithoutRetryAfter = 0;
let unsent = 0;
let failed = 0;
let open = 0;
let sequence = 0;
const epoch = Date.now() - 24 * 3600 * 1000;

const post = async (): Promise<void> => {
  const n = sequence++;
  const deviceId = deviceIds[n % deviceIds.length] ?? 'soak-1';
  const reading = {
    deviceId,
    timestamp: new Date(epoch + Math.floor(n / deviceIds.length)).toISOString(),
    metrics: { t: 20 + (n % 50) / 10 },
  };
  open++;
  try {
    const response = await fetch(`${cloud.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKeys.get(deviceId) ?? '' },
      body: JSON.stringify(reading),
    });
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const text = await response.text();
    if (response.status === 429 && !response.headers.get('retry-after')) throttledWithoutRetryAfter++;
    if (response.status === 202)
      accepted.set((JSON.parse(text) as { readingId: string }).readingId, deviceId);
  } catch {
    failed++;
  } finally {
    open--;
  }
};

/** The Lambda runtime's pools together: environments, those busy, invocations waiting for one, cold starts. */
const lambdaLine = () => {
  const pools = Object.values(cloud.lambda.stats());
  const sum = (field: 'environments' | 'busy' | 'waiting' | 'coldStarts') =>
    pools.reduce((total, pool) => total + pool[field], 0);
  // The functions with invocations waiting, each with its environments busy of those it has: where the queue is.
  const queued = Object.entries(cloud.lambda.stats())
    .filter(([, pool]) => pool.waiting > 0)
    .map(([name, pool]) => `${name} ${pool.busy}/${pool.environments} +${pool.waiting}`)
    .join(', ');
  return `environments ${sum('environments')} busy ${sum('busy')} waiting ${sum('waiting')}${queued ? ` (${queued})` : ''} cold starts ${sum('coldStarts')} throttled ${count(cloud.lambda.throttledCount)}`;
};

/** The process's threads (each execution environment is one, and a V8 isolate), as Linux counts them; '?' elsewhere. */
const threads = (): string => {
  try {
    return /^Threads:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
};

/**
 * Where the resident memory is: this thread's JavaScript heap (used of committed: V8 lets the heap
 * grow to a few times what a collection keeps before it collects again), its memory outside the
 * heap, the execution environments' heaps (each a worker thread, reported at its last ping, used of
 * committed), the threads and the stream records held in memory.
 */
const memoryLine = () => {
  const { environments } = cloud.lambda.health();
  const used = environments.reduce((sum, e) => sum + (e.heapUsedMb ?? 0), 0);
  const committed = environments.reduce((sum, e) => sum + (e.heapCommittedMb ?? 0), 0);
  const usage = process.memoryUsage();
  return `heap ${mb(usage.heapUsed)} of ${mb(usage.heapTotal)} external ${mb(usage.external)} array buffers ${mb(usage.arrayBuffers)} threads ${threads()} environments' heaps ${count(Math.round(used))} of ${count(Math.round(committed))} MB stream records in memory ${count(cloud.dynamodb.streams.recordsInMemory())}`;
};

const samples: { at: number; rss: number }[] = [];
/** The slope of resident memory over time (MB/s), fitted by least squares: one sample's spike moves it little. */
const growthMbPerSecond = (points: readonly { at: number; rss: number }[]): number => {
  if (points.length < 2) return 0;
  const xs = points.map(({ at }) => at / 1000);
  const ys = points.map(({ rss }) => rss / 2 ** 20);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  const covariance = xs.reduce((sum, x, i) => sum + (x - meanX) * ((ys[i] ?? 0) - meanY), 0);
  const variance = xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
};
let peakRss = 0;
const sample = (phase: string) => {
  const stats = cloud.stats();
  peakRss = Math.max(peakRss, stats.rssBytes);
  samples.push({ at: Date.now(), rss: stats.rssBytes });
  print(
    `${phase.padEnd(6)} t+${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s  rss ${mb(stats.rssBytes)} (${memoryLine()})  ` +
      `accepted ${count(stats.acceptedReadings)}  throttled ${count(stats.throttledRequests)}  ` +
      `pending deliveries ${count(stats.pendingDeliveries)}  dead letters ${count(stats.deadLetters)}  ` +
      `lambda ${lambdaLine()}  ${load()}`,
  );
};

/** The clients a reading is pushed to: those following its device. */
const followersOf = (id: string): readonly number[] => followers.get(accepted.get(id) ?? '') ?? [];
// The drain: until every accepted reading is announced, enriched and pushed to every client that follows its device, and nothing is pending.
const everyFollowerHas = (type: (typeof PUSHED_TYPES)[number], id: string) =>
  followersOf(id).every((client) => (pushes[client]?.[type].get(id) ?? 0) >= 1);
const drained = () =>
  open === 0 &&
  cloud.stats().pendingDeliveries === 0 &&
  [...accepted.keys()].every(
    (id) => announced.has(id) && enriched.has(id) && PUSHED_TYPES.every((type) => everyFollowerHas(type, id)),
  );
/**
 * The warm-up, before the clock starts: one reading posted (retried after `Retry-After` while
 * refused) and followed until every client has it, so that each function on the reading's path has
 * an execution environment, as on a machine that has been running; at most `WARM_UP_MINUTES`.
 */
const WARM_UP_MINUTES = 5;
const warmUpStarted = Date.now();
const warmUpDeadline = warmUpStarted + WARM_UP_MINUTES * 60_000;
while (accepted.size === 0 && Date.now() < warmUpDeadline) {
  await post();
  if (accepted.size === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
}
while (!drained() && Date.now() < warmUpDeadline) await new Promise((resolve) => setTimeout(resolve, 500));
print(
  `warm-up: ${drained() ? 'one reading through every function' : 'NOT complete'} in ${((Date.now() - warmUpStarted) / 1000).toFixed(1)} s (${load()}); ` +
    `lambda ${lambdaLine()}`,
);
statuses.clear();
/** Resident memory when the load starts, every function on a reading's path warm. */
const rssAtLoadStart = process.memoryUsage.rss();
/** Posts of the warm-up, left out of the figures (the sequence goes on, so no reading repeats one of them). */
const warmUpPosts = sequence;
accepted.clear();
for (const map of [announced, enriched, ...pushes.flatMap((client) => Object.values(client))]) map.clear();

print(
  `soak: ${minutes} min at ${rate} posts/s (${OVERLOAD}× the stage's ${ceiling} requests/s), ` +
    `${clientCount} WebSocket clients each following ${followCount} of ${deviceCount} devices; rss ${mb(rssAtLoadStart)} (${mb(rssAfterStart)} once the cloud started)`,
);
const startedAt = Date.now();
const loadEndsAt = startedAt + minutes * 60_000;
const sampler = setInterval(() => sample('load'), SAMPLE_EVERY_MS);
const TICK_MS = 20;
/**
 * Posts offered so far: as many as the rate makes due by the clock, not per tick, so a tick the
 * busy event loop delays offers what came due meanwhile (per tick, a loaded machine offered 40 %
 * of the rate).
 */
let offered = 0;
for (let now = Date.now(); now < loadEndsAt; now = Date.now()) {
  const due = Math.floor((rate * (now - startedAt)) / 1000);
  for (; offered < due; offered++) {
    if (open >= MAX_OPEN_REQUESTS) unsent++;
    else void post();
  }
  await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
clearInterval(sampler);
// The drain runs from here: the requests still open are answered within it.
const loadEndedAt = Date.now();

const drainDeadline = loadEndedAt + drainMinutes * 60_000;
let lastSample = Date.now();
while (!drained() && Date.now() < drainDeadline) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (Date.now() - lastSample >= SAMPLE_EVERY_MS) {
    sample('drain');
    lastSample = Date.now();
  }
}
const drainSeconds = drained() ? (Date.now() - loadEndedAt) / 1000 : undefined;
sample('end');

// Stored once: every accepted reading is in the readings table (its key is its identity, so at most once).
const dynamo = edgeDynamo(cloud);
const stored = new Set<string>();
for (const deviceId of deviceIds) {
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tables.readings.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ProjectionExpression: 'readingId',
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of page.Items ?? []) stored.add(String(item.readingId));
    cursor = page.LastEvaluatedKey;
  } while (cursor);
}

const ids = [...accepted.keys()];
const exactlyOnce = (map: Map<string, number>) => ids.filter((id) => map.get(id) === 1).length;
/** Pushes due: each accepted reading to each client following its device. */
const pushesDue = ids.reduce((sum, id) => sum + followersOf(id).length, 0);
/** (client, reading) pairs of a follower that got the reading `times` as the predicate says. */
const followerPairs = (type: (typeof PUSHED_TYPES)[number], times: (n: number) => boolean) =>
  ids.reduce(
    (sum, id) => sum + followersOf(id).filter((client) => times(pushes[client]?.[type].get(id) ?? 0)).length,
    0,
  );
const pushedOnce = (type: (typeof PUSHED_TYPES)[number]) => followerPairs(type, (n) => n === 1);
const pushesDuplicated = (type: (typeof PUSHED_TYPES)[number]) => followerPairs(type, (n) => n > 1);
/** Readings pushed to a client that does not follow their device. */
const pushesAstray = (type: (typeof PUSHED_TYPES)[number]) =>
  ids.reduce((sum, id) => {
    const due = new Set(followersOf(id));
    return sum + pushes.filter((client, i) => !due.has(i) && client[type].has(id)).length;
  }, 0);
const answered = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${count(n)}`);
/** Answers that were neither an acceptance nor a 429 (a 5xx, a 504 after the integration timeout). */
const otherRefusals = [...statuses]
  .filter(([status]) => status !== 202 && status !== 429)
  .reduce((sum, [, n]) => sum + n, 0);
const DRAIN_TARGET_SECONDS = 120;

print('');
print('figures');
const sent = sequence - warmUpPosts;
const perSecond = (n: number) => (n / (minutes * 60)).toFixed(1);
print(
  `  posts offered ${count(offered)} (${rate}/s), sent ${count(sent)} (${perSecond(sent)}/s), ` +
    `not sent ${count(unsent)} (${count(MAX_OPEN_REQUESTS)} requests already open), network failures ${count(failed)}`,
);
print(`  answers ${answered.join(', ')}`);
print(`  429s without Retry-After: ${count(throttledWithoutRetryAfter)}`);
print(`  accepted readings (202) ${count(ids.length)}`);
print(`  stored ${count(ids.filter((id) => stored.has(id)).length)} of ${count(ids.length)}`);
print(`  announced exactly once ${count(exactlyOnce(announced))} of ${count(ids.length)}`);
print(`  enriched exactly once ${count(exactlyOnce(enriched))} of ${count(ids.length)}`);
for (const type of PUSHED_TYPES) {
  print(
    `  ${type} pushed exactly once ${count(pushedOnce(type))} of ${count(pushesDue)} (following client × reading), duplicated ${count(pushesDuplicated(type))}, to a client not following the device ${count(pushesAstray(type))}`,
  );
}
print(`  dead letters ${count(cloud.stats().deadLetters)}`);
print(
  `  lambda, per function: ${Object.entries(cloud.lambda.stats())
    .map(
      ([name, pool]) =>
        `${name} ${pool.coldStarts} cold starts (init ${count(Math.round(pool.initMs / Math.max(1, pool.coldStarts)))} ms each)`,
    )
    .join(', ')}; ${count(cloud.lambda.throttledCount)} invocations throttled`,
);
print(
  `  resident memory: peak ${mb(peakRss)} (bound ${mb(MEMORY_BOUND_BYTES)}: ${peakRss < MEMORY_BOUND_BYTES ? 'under' : 'OVER'})`,
);
print(
  `  drain after the load: ${drainSeconds === undefined ? `not drained within ${drainMinutes} min` : `${drainSeconds.toFixed(1)} s`} (target < ${DRAIN_TARGET_SECONDS} s)`,
);
print(
  `  resident memory: ${mb(rssAfterStart)} once the cloud started, ${mb(rssAtLoadStart)} when the load started, ` +
    `growing ${growthMbPerSecond(samples.filter(({ at }) => at <= loadEndedAt)).toFixed(2)} MB/s under the load (least squares over its samples)`,
);
print(`  ${load()} (at the end; every sample line above has its own)`);

// One verdict per criterion of the issue, read from the figures above.
const allOf = (n: number, of: number) => `${count(n)} of ${count(of)}`;
const pushedOnceAll = PUSHED_TYPES.every(
  (type) => pushedOnce(type) === pushesDue && pushesAstray(type) === 0,
);
const criteria: [boolean, string][] = [
  [
    sent >= OVERLOAD * ids.length && ids.length > 0,
    `overload applied: posts sent at ${perSecond(sent)}/s, ${(sent / Math.max(1, ids.length)).toFixed(1)}× the ${perSecond(ids.length)}/s accepted (at least ${OVERLOAD}×; ` +
      `${rate}/s offered against the stage's ${ceiling}/s, ${count(unsent)} of ${count(offered)} not sent while ${count(MAX_OPEN_REQUESTS)} were open)`,
  ],
  [
    peakRss < MEMORY_BOUND_BYTES,
    `resident memory under ${mb(MEMORY_BOUND_BYTES)} throughout (peak ${mb(peakRss)})`,
  ],
  [
    throttledWithoutRetryAfter === 0 && otherRefusals === 0 && failed === 0,
    `every refused request got 429 with Retry-After (${count(throttledWithoutRetryAfter)} without it, ${count(otherRefusals)} other refusals, ${count(failed)} network failures)`,
  ],
  [ids.length > 0, `readings accepted (${count(ids.length)})`],
  [
    ids.every((id) => stored.has(id)),
    `every 202 stored (${allOf(ids.filter((id) => stored.has(id)).length, ids.length)})`,
  ],
  [
    exactlyOnce(announced) === ids.length,
    `every 202 announced exactly once (${allOf(exactlyOnce(announced), ids.length)})`,
  ],
  [
    exactlyOnce(enriched) === ids.length,
    `every 202 enriched exactly once (${allOf(exactlyOnce(enriched), ids.length)})`,
  ],
  [
    pushedOnceAll,
    `every 202 pushed exactly once to every client following its device, and to no other (${PUSHED_TYPES.map((type) => `${type} ${allOf(pushedOnce(type), pushesDue)}, ${count(pushesAstray(type))} astray`).join(', ')})`,
  ],
  [
    drainSeconds !== undefined && drainSeconds <= DRAIN_TARGET_SECONDS,
    `backlog drained within ${DRAIN_TARGET_SECONDS} s of the end (${drainSeconds === undefined ? 'not drained' : `${drainSeconds.toFixed(1)} s`})`,
  ],
];
print('');
print(`verdict (${load()})`);
for (const [passed, criterion] of criteria) print(`  ${passed ? 'PASS' : 'FAIL'}  ${criterion}`);
print(
  JSON.stringify({
    minutes,
    rate,
    clients: clientCount,
    devices: deviceCount,
    follow: followCount,
    sent,
    unsent,
    rssAfterStartBytes: rssAfterStart,
    rssAtLoadStartBytes: rssAtLoadStart,
    accepted: ids.length,
    statuses: Object.fromEntries(statuses),
    throttledWithoutRetryAfter,
    peakRssBytes: peakRss,
    drainSeconds: drainSeconds ?? null,
    loadAverage: loadavg(),
    passed: criteria.every(([passed]) => passed),
    rss: samples.map(({ at, rss }) => [Math.round((at - startedAt) / 1000), Math.round(rss / 2 ** 20)]),
  }),
);

for (const socket of sockets) socket.close();
dynamo.destroy();
await cloud.stop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
