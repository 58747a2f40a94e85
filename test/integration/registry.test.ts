import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { edgeDynamo, startTestCloud, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(() => t.stop());

describe('device registry', () => {
  it('creates a device with 201, shows its key once and stores only its hash', async () => {
    // Act
    const created = await t.api('/devices/reg-1', {
      method: 'PUT',
      token: t.adminToken,
      json: {
        name: 'Boiler',
        metrics: { temperature: { unit: '°C' } },
        alarms: [{ metric: 'temperature', above: 80, severity: 'critical' }],
      },
    });
    const body = (await created.json()) as { device: Record<string, unknown>; apiKey: string };
    const updated = await t.api('/devices/reg-1', {
      method: 'PUT',
      token: t.adminToken,
      json: { name: 'Boiler room' },
    });
    const updatedBody = (await updated.json()) as Record<string, unknown>;
    const stored = await edgeDynamo(t.cloud).send(
      new GetCommand({ TableName: tables.devices.name, Key: { deviceId: 'reg-1' } }),
    );

    // Assess
    expect(created.status).toBe(201);
    expect(body.apiKey).toMatch(/^sbk_/);
    expect(body.device).toMatchObject({ deviceId: 'reg-1', name: 'Boiler' });
    expect(updated.status).toBe(200);
    expect(updatedBody).not.toHaveProperty('apiKey');
    expect(updatedBody.device).toMatchObject({
      name: 'Boiler room',
      alarms: [{ metric: 'temperature', above: 80 }],
    });
    expect(JSON.stringify(stored.Item)).not.toContain(body.apiKey);
    expect(stored.Item?.apiKeyHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers 400 naming each bad field, and stores nothing', async () => {
    const response = await t.api('/devices/reg-bad', {
      method: 'PUT',
      token: t.adminToken,
      json: { name: '', alarms: [{ metric: 'temperature', severity: 'fatal' }], colour: 'red' },
    });
    const body = (await response.json()) as { error: { code: string; details: { path: string }[] } };

    expect(response.status).toBe(400);
    expect(body.error.code).toBe('ValidationError');
    expect(body.error.details.map((d) => d.path)).toEqual(
      expect.arrayContaining(['name', 'alarms.0.severity', 'colour']),
    );
    expect((await t.api('/devices/reg-bad', { token: t.adminToken })).status).toBe(404);
  });

  it('lets a viewer list and read only the devices its token grants', async () => {
    await t.registerDevice('reg-a');
    await t.registerDevice('reg-b');
    const viewer = await t.viewerToken(['reg-a']);

    const list = (await (await t.api('/devices', { token: viewer })).json()) as {
      items: { deviceId: string }[];
    };
    const own = await t.api('/devices/reg-a', { token: viewer });
    const other = await t.api('/devices/reg-b', { token: viewer });

    expect(list.items.map((d) => d.deviceId)).toEqual(['reg-a']);
    expect(own.status).toBe(200);
    expect(other.status).toBe(403);
  });

  it('refuses registry writes to viewers and to callers without a valid token', async () => {
    const viewer = await t.viewerToken('*');
    const asViewer = await t.api('/devices/reg-x', { method: 'PUT', token: viewer, json: {} });
    const anonymous = await t.api('/devices/reg-x', { method: 'PUT', json: {} });
    const forged = await t.api('/devices', { token: `${t.adminToken.slice(0, -4)}AAAA` });

    expect(asViewer.status).toBe(403);
    expect(anonymous.status).toBe(401);
    // The deployed UNAUTHORIZED gateway response names every credential header; this route needs authorization.
    expect(
      ((await anonymous.json()) as { error: { details: { path: string }[] } }).error.details.map(
        (d) => d.path,
      ),
    ).toContain('authorization');
    expect(forged.status).toBe(401);
  });
});

describe('tokens', () => {
  it('issues a viewer token that works for its devices only', async () => {
    await t.registerDevice('tok-1');
    await t.registerDevice('tok-2');

    const issued = await t.api('/tokens', {
      method: 'POST',
      token: t.adminToken,
      json: { role: 'viewer', deviceIds: ['tok-1'], ttlSeconds: 600 },
    });
    const { token } = (await issued.json()) as { token: string };

    expect(issued.status).toBe(201);
    expect((await t.api('/devices/tok-1/readings', { token })).status).toBe(200);
    expect((await t.api('/devices/tok-2/readings', { token })).status).toBe(403);
    expect(
      (await t.api('/tokens', { method: 'POST', token, json: { role: 'viewer', deviceIds: '*' } })).status,
    ).toBe(403);
  });

  it('rejects a token request that names a field wrongly', async () => {
    const response = await t.api('/tokens', {
      method: 'POST',
      token: t.adminToken,
      json: { role: 'owner', deviceIds: [] },
    });
    const body = (await response.json()) as { error: { details: { path: string }[] } };
    expect(response.status).toBe(400);
    expect(body.error.details.map((d) => d.path)).toEqual(expect.arrayContaining(['role', 'deviceIds']));
  });
});
