import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { startLocalCloud } from './cloud.ts';
import { type Notice, noticeLimiter, verboseLine } from './console-log.ts';
import {
  type Credentials,
  loadAwsCredentials,
  loadCredentials,
  loadSigningKey,
  saveCredentials,
} from './credentials.ts';
import { demoDevices } from './demo.ts';
import { limitHeapGrowth } from './heap-growth.ts';
import { type SimulatedDevice, startSimulator } from './simulator.ts';
import { type StatusSample, statusLine } from './status-line.ts';
import { buildDashboard, startWebServer } from './web-server.ts';

limitHeapGrowth();

const NOTICE_INTERVAL_MS = 10_000;
const STATUS_INTERVAL_MS = 5_000;

const usage = `Usage: npm start -- [--no-simulate] [--in-memory] [--verbose]

Starts sensorbus on this machine: the AWS-compatible edge, the REST API, demo devices and a
simulated fleet. Ports: SENSORBUS_API_PORT (3000), SENSORBUS_WS_PORT (3001),
SENSORBUS_WEB_PORT (8080), SENSORBUS_EDGE_PORT (4566). Address every server listens on:
SENSORBUS_HOST (127.0.0.1). Data: SENSORBUS_DATA_DIR (.sensorbus).

The console stays quiet: a repeated warning is printed once, then counted every
${NOTICE_INTERVAL_MS / 1000} s; a status line appears every ${STATUS_INTERVAL_MS / 1000} s while counters move.
--verbose prints every warning and handler log line (handlers at INFO) as it comes.`;

const { values: flags } = parseArgs({
  options: {
    'no-simulate': { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(usage);
  process.exit(0);
}

const port = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535)
    throw new Error(`${name} must be a port number`);
  return value;
};

const ADMIN_TOKEN_TTL = 365 * 24 * 3600;
const VIEWER_TOKEN_TTL = 30 * 24 * 3600;
const SIMULATION_INTERVAL_MS = 2000;

/**
 * The console's voice: every notice with `--verbose`, otherwise the first of each kind and a count
 * of its repeats every interval, so a failing dependency under load prints a few lines, not one
 * per request.
 */
const startConsole = (verbose: boolean) => {
  const limiter = noticeLimiter({ intervalMs: NOTICE_INTERVAL_MS });
  const summarise = () => {
    for (const line of limiter.endInterval()) console.error(line);
  };
  const timer = setInterval(summarise, NOTICE_INTERVAL_MS);
  timer.unref();
  return {
    report(notice: Notice) {
      const line = verbose ? verboseLine(notice) : limiter.admit(notice);
      if (line !== undefined) console.error(line);
    },
    stop() {
      clearInterval(timer);
      summarise();
    },
  };
};

/** Prints the status line every interval in which a counter moved. */
const startStatusLine = (sample: () => StatusSample) => {
  let previous = sample();
  const timer = setInterval(() => {
    const current = sample();
    const line = statusLine(previous, current);
    previous = current;
    if (line) console.log(line);
  }, STATUS_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

const main = async () => {
  const dataDir = resolve(process.env.SENSORBUS_DATA_DIR ?? '.sensorbus');
  const persist = !flags['in-memory'];
  const webPort = port('SENSORBUS_WEB_PORT', 8080);
  const tokenSigningKey = loadSigningKey(dataDir, persist);
  const aws = loadAwsCredentials(dataDir);
  const host = process.env.SENSORBUS_HOST ?? '127.0.0.1';
  const notices = startConsole(flags.verbose);
  const cloud = await startLocalCloud({
    tokenSigningKey,
    awsCredentials: aws,
    log: notices.report,
    logLevel: process.env.POWERTOOLS_LOG_LEVEL ?? (flags.verbose ? 'INFO' : 'WARN'),
    ...(persist ? { dataDir } : {}),
    host,
    apiPort: port('SENSORBUS_API_PORT', 3000),
    edgePort: port('SENSORBUS_EDGE_PORT', 4566),
    wsPort: port('SENSORBUS_WS_PORT', 3001),
    allowedOrigin: `http://localhost:${webPort}`,
    // /health answers ok only once the demo devices are registered and the credentials file written.
    readyWhenMarked: true,
  });

  const dashboard = await buildDashboard();
  if (dashboard.built) console.log(`built the dashboard in ${(dashboard.durationMs / 1000).toFixed(1)} s`);
  const web = await startWebServer({
    port: webPort,
    host,
    config: () => ({ apiUrl: cloud.apiUrl, wsUrl: cloud.wsUrl }),
  });

  const key = signingKeyFrom(tokenSigningKey);
  const { token: adminToken } = await signToken(key, { role: 'admin', deviceIds: '*' }, ADMIN_TOKEN_TTL);
  const { token: viewerToken } = await signToken(key, { role: 'viewer', deviceIds: '*' }, VIEWER_TOKEN_TTL);
  const known = persist ? loadCredentials(dataDir) : undefined;
  const deviceKeys: Credentials['devices'] = { ...(known?.devices ?? {}) };

  for (const demo of demoDevices) {
    const response = await fetch(`${cloud.apiUrl}/devices/${demo.deviceId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(demo.registration),
    });
    const body = (await response.json()) as { apiKey?: string };
    if (response.status === 201 && body.apiKey) deviceKeys[demo.deviceId] = body.apiKey;
    else if (response.status !== 200)
      throw new Error(`Registering ${demo.deviceId} failed: ${response.status}`);
  }
  const credentialsFile = saveCredentials(dataDir, { adminToken, viewerToken, devices: deviceKeys, aws });
  cloud.markReady();

  const fleet: SimulatedDevice[] = demoDevices.flatMap((demo) => {
    const apiKey = deviceKeys[demo.deviceId];
    return apiKey ? [{ deviceId: demo.deviceId, apiKey, metrics: demo.simulate }] : [];
  });
  const simulator = flags['no-simulate']
    ? undefined
    : startSimulator({
        apiUrl: cloud.apiUrl,
        devices: fleet,
        intervalMs: SIMULATION_INTERVAL_MS,
        onFailure: (failure) =>
          notices.report({
            source: 'simulator',
            counted: { one: 'post failed', many: 'posts failed' },
            reason: failure.reason,
            message: failure.message,
          }),
      });

  const apiUrl = cloud.apiUrl.replace('127.0.0.1', 'localhost');
  console.log(`
sensorbus is running${persist ? '' : ' (in memory)'}

  REST API        ${apiUrl}            (GET ${apiUrl}/health)
  WebSocket API   ${cloud.wsUrl.replace('127.0.0.1', 'localhost')}/?token=<viewer token>
  AWS edge        ${cloud.edgeUrl.replace('127.0.0.1', 'localhost')}  (DynamoDB, EventBridge, SNS, API Gateway Management)
  dashboard       ${web.url}/?token=${viewerToken}
  data            ${persist ? dataDir : '(in memory)'}
  credentials     ${credentialsFile}

  admin token     ${adminToken}

  devices         ${fleet.map((d) => d.deviceId).join(', ')}${simulator ? ` (simulated, a reading every ${SIMULATION_INTERVAL_MS / 1000} s)` : ''}

Try:
  curl -H "authorization: Bearer $(node -p "require('${credentialsFile}').adminToken")" ${apiUrl}/devices

${flags.verbose ? 'Every warning and handler log line is printed as it comes.' : `Repeated warnings are printed once, then counted every ${NOTICE_INTERVAL_MS / 1000} s (--verbose prints them all).`}
A status line follows every ${STATUS_INTERVAL_MS / 1000} s while readings arrive or deliveries are pending.
Ctrl-C stops it; the next start carries on from the same data.
`);
  const status = startStatusLine(() => ({ at: new Date(), ...cloud.stats() }));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping; in-flight requests finish first`);
    status.stop();
    await simulator?.stop();
    await web.close();
    await cloud.stop();
    notices.stop();
    console.log('stopped cleanly');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
