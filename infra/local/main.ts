import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { startLocalCloud } from './cloud.ts';
import { type Credentials, loadCredentials, loadSigningKey, saveCredentials } from './credentials.ts';
import { demoDevices } from './demo.ts';
import { type SimulatedDevice, startSimulator } from './simulator.ts';
import { buildDashboard, startWebServer } from './web-server.ts';

const usage = `Usage: npm start -- [--no-simulate] [--in-memory]

Starts sensorbus on this machine: the AWS-compatible edge, the REST API, demo devices and a
simulated fleet. Ports: SENSORBUS_API_PORT (3000), SENSORBUS_WS_PORT (3001),
SENSORBUS_WEB_PORT (8080), SENSORBUS_EDGE_PORT (4566). Data: SENSORBUS_DATA_DIR (.sensorbus).`;

const { values: flags } = parseArgs({
  options: {
    'no-simulate': { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
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

const main = async () => {
  const dataDir = resolve(process.env.SENSORBUS_DATA_DIR ?? '.sensorbus');
  const persist = !flags['in-memory'];
  const webPort = port('SENSORBUS_WEB_PORT', 8080);
  const tokenSigningKey = loadSigningKey(dataDir, persist);
  const cloud = await startLocalCloud({
    tokenSigningKey,
    ...(persist ? { dataDir } : {}),
    host: process.env.SENSORBUS_HOST ?? '127.0.0.1',
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
    host: process.env.SENSORBUS_HOST ?? '127.0.0.1',
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
  const credentialsFile = saveCredentials(dataDir, { adminToken, viewerToken, devices: deviceKeys });
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
        onError: (deviceId, error) => console.error(`simulated ${deviceId}: ${error}`),
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

Ctrl-C stops it; the next start carries on from the same data.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping; in-flight requests finish first`);
    await simulator?.stop();
    await web.close();
    await cloud.stop();
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
