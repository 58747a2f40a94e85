import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { newAwsCredentials } from '../../infra/local/credentials.ts';
import { buses } from '../../infra/topology.ts';
import { type EdgeAccess, edgeAdmin, storedReadings, waitFor } from '../support/local-cloud.ts';

const repoRoot = join(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-crash-'));
const signingKey = newSigningKey();
const awsCredentials = newAwsCredentials();
const children = new Set<ChildProcess>();

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

const startProcess = (ports: { api: number; edge: number }) =>
  new Promise<{ child: ChildProcess; apiUrl: string; edge: EdgeAccess }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/cloud-process.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TEST_DATA_DIR: dataDir,
        TEST_SIGNING_KEY: signingKey,
        TEST_AWS_CREDENTIALS: JSON.stringify(awsCredentials),
        TEST_API_PORT: String(ports.api),
        TEST_EDGE_PORT: String(ports.edge),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    child.once('error', reject);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\S+) (\S+)/.exec(output);
      if (match?.[1] && match[2])
        resolve({ child, apiUrl: match[1], edge: { edgeUrl: match[2], awsCredentials } });
    });
  });

const archivedRecordedIds = (deviceId: string) => {
  const file = join(dataDir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"deviceId":"${deviceId}"`) && line.includes('"ReadingRecorded"'))
    .map(
      (line) =>
        (JSON.parse(line) as { event: { detail: { metadata: { eventId: string } } } }).event.detail.metadata
          .eventId,
    );
};

const archivedRecorded = (readingId: string) => {
  const file = join(dataDir, 'archive', `${buses.telemetry.name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(readingId))
    .map(
      (line) =>
        JSON.parse(line) as { event: { 'detail-type': string; detail: { metadata: { eventId: string } } } },
    )
    .filter((archived) => archived.event['detail-type'] === 'ReadingRecorded');
};

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a process killed between store and emit', () => {
  it('emits the stored reading after restart, once, and the device retry is a duplicate', async () => {
    // Prepare: a running system with a device, and a bus that never answers
    const ports = { api: await freePort(), edge: await freePort() };
    const first = await startProcess(ports);
    const { token: admin } = await signToken(
      signingKeyFrom(signingKey),
      { role: 'admin', deviceIds: '*' },
      600,
    );
    const registered = await fetch(`${first.apiUrl}/devices/crash-1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { apiKey } = (await registered.json()) as { apiKey: string };
    const injected = await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { service: 'events', operation: 'PutEvents', mode: 'hang' },
    });
    expect(injected.status).toBe(200);
    const reading = { deviceId: 'crash-1', timestamp: '2026-11-20T08:00:00Z', metrics: { t: 7 } };
    const post = () =>
      fetch(`${first.apiUrl}/readings`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(reading),
      });

    // Act: the reading is stored, the emit hangs, and the process dies
    const inFlight = post().catch((error: unknown) => error);
    const [stored] = await waitFor(async () => {
      const items = await storedReadings(first.edge, 'crash-1');
      return items.length > 0 ? items : undefined;
    }, 'the stored reading');
    first.child.kill('SIGKILL');
    expect(await inFlight).toBeInstanceOf(Error);
    const readingId = String(stored?.readingId);
    expect(stored?.outboxAt).toBeDefined();
    expect(archivedRecorded(readingId)).toHaveLength(0);

    const second = await startProcess(ports);

    // Assess: the relay of the new process emits it, exactly once
    const emitted = await waitFor(() => {
      const found = archivedRecorded(readingId);
      return found.length > 0 ? found : undefined;
    }, 'ReadingRecorded after restart');
    const retry = await fetch(`${second.apiUrl}/readings`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(reading),
    });
    await waitFor(
      async () => (await storedReadings(second.edge, 'crash-1'))[0]?.outboxAt === undefined,
      'mark cleared',
    );

    expect(emitted).toHaveLength(1);
    expect(await retry.json()).toMatchObject({ readingId, duplicate: true });
    expect(await storedReadings(second.edge, 'crash-1')).toHaveLength(1);
    expect(archivedRecorded(readingId)).toHaveLength(1);
    second.child.kill('SIGTERM');
  }, 60_000);
});

describe('a process killed mid-batch', () => {
  it('ends with every reading of the retried batch stored once, announced and enriched', async () => {
    const ports = { api: await freePort(), edge: await freePort() };
    const first = await startProcess(ports);
    const { token: admin } = await signToken(
      signingKeyFrom(signingKey),
      { role: 'admin', deviceIds: '*' },
      600,
    );
    const registered = await fetch(`${first.apiUrl}/devices/crash-batch`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { apiKey } = (await registered.json()) as { apiKey: string };
    const batch = {
      readings: Array.from({ length: 100 }, (_, i) => ({
        deviceId: 'crash-batch',
        timestamp: new Date(Date.UTC(2026, 10, 21, 0, 0, i)).toISOString(),
        metrics: { t: i },
      })),
    };
    const post = (apiUrl: string) =>
      fetch(`${apiUrl}/readings`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
    // 40 conditional puts go through, then the store stops answering: the process dies mid-batch.
    const injected = await edgeAdmin(first.edge, '/_sensorbus/faults', {
      method: 'POST',
      json: { service: 'dynamodb', operation: 'PutItem', mode: 'hang', after: 40 },
    });
    expect(injected.status).toBe(200);

    const inFlight = post(first.apiUrl).catch((error: unknown) => error);
    await waitFor(
      async () => (await storedReadings(first.edge, 'crash-batch')).length === 40,
      '40 stored readings',
    );
    first.child.kill('SIGKILL');
    expect(await inFlight).toBeInstanceOf(Error);

    const second = await startProcess(ports);
    const retried = await post(second.apiUrl);
    const answer = (await retried.json()) as { accepted: number; results: { duplicate: boolean }[] };
    await waitFor(
      async () => {
        const stored = await storedReadings(second.edge, 'crash-batch');
        return (
          stored.length === 100 &&
          stored.every((item) => item.enrichment !== undefined && item.outboxAt === undefined)
        );
      },
      'every reading stored, emitted and enriched',
      30_000,
    );

    expect(retried.status).toBe(202);
    expect(answer.results.filter((r) => r.duplicate)).toHaveLength(40);
    // Every reading was announced. A reading whose ingest was still publishing when the relay's
    // (here one-second) minimum age passed may be announced twice, always with the same event id,
    // which consumers dedupe; the relay's claim keeps it to at most twice.
    const emitted = archivedRecordedIds('crash-batch');
    const perEvent = new Map<string, number>();
    for (const id of emitted) perEvent.set(id, (perEvent.get(id) ?? 0) + 1);
    expect(perEvent.size).toBe(100);
    expect(Math.max(...perEvent.values())).toBeLessThanOrEqual(2);
    second.child.kill('SIGTERM');
  }, 90_000);
});
