import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../infra/local/cloud.ts';
import type { BusEvent } from '../../infra/local/eventbridge/service.ts';
import { buses, tables } from '../../infra/topology.ts';

export interface TestCloud {
  readonly cloud: LocalCloud;
  readonly adminToken: string;
  /** Every event accepted on any bus since start, in order. */
  readonly busEvents: { bus: string; event: BusEvent }[];
  api(
    path: string,
    init?: RequestInit & { json?: unknown; token?: string; apiKey?: string },
  ): Promise<Response>;
  registerDevice(deviceId: string, body?: Record<string, unknown>): Promise<string>;
  viewerToken(deviceIds: string[] | '*'): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the real local cloud in this test process on free ports, with an admin token to drive it. */
export const startTestCloud = async (options: Partial<LocalCloudOptions> = {}): Promise<TestCloud> => {
  const tokenSigningKey = options.tokenSigningKey ?? newSigningKey();
  const cloud = await startLocalCloud({ scheduleIntervalMs: 0, ...options, tokenSigningKey });
  const key = signingKeyFrom(tokenSigningKey);
  const { token: adminToken } = await signToken(key, { role: 'admin', deviceIds: '*' }, 3600);
  const busEvents: TestCloud['busEvents'] = [];
  cloud.events.subscribe((event, bus) => busEvents.push({ bus, event }));

  const api: TestCloud['api'] = (path, init = {}) => {
    const { json, token, apiKey, headers, ...rest } = init;
    return fetch(`${cloud.apiUrl}${path}`, {
      ...rest,
      headers: {
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(apiKey ? { 'x-api-key': apiKey } : {}),
        ...(headers as Record<string, string> | undefined),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  };

  return {
    cloud,
    adminToken,
    busEvents,
    api,
    async registerDevice(deviceId, body = {}) {
      const response = await api(`/devices/${deviceId}`, { method: 'PUT', token: adminToken, json: body });
      const created = (await response.json()) as { apiKey?: string };
      if (response.status !== 201 || !created.apiKey)
        throw new Error(`registering ${deviceId}: ${response.status}`);
      return created.apiKey;
    },
    async viewerToken(deviceIds) {
      return (await signToken(key, { role: 'viewer', deviceIds }, 3600)).token;
    },
    stop: () => cloud.stop(),
  };
};

/** The configuration every SDK client in the tests uses to reach the test cloud's edge. */
export const edgeClientConfig = (edgeUrl: string) => ({
  endpoint: edgeUrl,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** A DynamoDB document client on the test cloud's edge, to look at what was really stored. */
export const edgeDynamo = (edgeUrl: string, translateConfig?: TranslateConfig) =>
  DynamoDBDocumentClient.from(new DynamoDBClient(edgeClientConfig(edgeUrl)), translateConfig);

/** Every stored reading of a device, straight from the table. */
export const storedReadings = async (edgeUrl: string, deviceId: string) => {
  const result = await edgeDynamo(edgeUrl).send(
    new QueryCommand({
      TableName: tables.readings.name,
      KeyConditionExpression: 'deviceId = :d',
      ExpressionAttributeValues: { ':d': deviceId },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
};

/** `ReadingRecorded` events of a device seen on the telemetry bus. */
export const recordedEvents = (t: TestCloud, deviceId: string) =>
  t.busEvents.filter(
    ({ bus, event }) =>
      bus === buses.telemetry.name &&
      event['detail-type'] === 'ReadingRecorded' &&
      (event.detail.data as { deviceId?: string }).deviceId === deviceId,
  );

/** Polls until `probe` answers something other than undefined, null or false; bounded, never a fixed sleep. */
export const waitFor = async <T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Exclude<T, undefined | null | false>> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false)
      return value as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

/** Every item of one partition of a table, straight from DynamoDB. */
export const storedItems = async (
  edgeUrl: string,
  tableName: string,
  partitionKey: string,
  value: string,
) => {
  const result = await edgeDynamo(edgeUrl).send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#pk = :v',
      ExpressionAttributeNames: { '#pk': partitionKey },
      ExpressionAttributeValues: { ':v': value },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
};
