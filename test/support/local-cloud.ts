import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { newSigningKey, signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';
import { withEnrichments } from '../../handlers/lib/enrichments-store.ts';
import { type ReadingItem, readingsOfItems } from '../../handlers/lib/readings-store.ts';
import { buses, tables } from '../../infra/topology.ts';
import { ADMIN_SIGNING_NAME, signedFetch } from '../../local-cloud/emulators/edge/sigv4.ts';
import type { BusEvent } from '../../local-cloud/emulators/eventbridge/service.ts';
import { LOCAL_REGION } from '../../local-cloud/launcher/arns.ts';
import {
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
} from '../../local-cloud/launcher/cloud.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';

/**
 * The readings retention of a test cloud: tests post readings at fixed dates, which a century
 * keeps inside the retention whatever day they run; retention tests set their own.
 */
export const TEST_RETENTION_DAYS = 36_500;

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

/**
 * Starts the real local cloud in this test process on free ports, with an admin token to drive it
 * and freshly generated credentials for its edge (`edgeClientConfig(t.cloud)`).
 */
export const startTestCloud = async (options: Partial<LocalCloudOptions> = {}): Promise<TestCloud> => {
  const tokenSigningKey = options.tokenSigningKey ?? newSigningKey();
  const awsCredentials = options.awsCredentials ?? newAwsCredentials();
  const cloud = await startLocalCloud({
    scheduleIntervalMs: 0,
    readingsRetentionDays: TEST_RETENTION_DAYS,
    rollupsRetentionDays: TEST_RETENTION_DAYS,
    ...options,
    tokenSigningKey,
    awsCredentials,
  });
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

/** A running cloud's edge: where it listens and the credentials it accepts signatures from. */
export type EdgeAccess = Pick<LocalCloud, 'edgeUrl' | 'awsCredentials'>;

/** The configuration every SDK client in the tests uses to reach the test cloud's edge. */
export const edgeClientConfig = (edge: EdgeAccess) => ({
  endpoint: edge.edgeUrl,
  region: LOCAL_REGION,
  credentials: {
    accessKeyId: edge.awsCredentials.accessKeyId,
    secretAccessKey: edge.awsCredentials.secretAccessKey,
  },
});

/** A signed request to one of the edge's project endpoints (`/_sensorbus/...`), as `npm run events` makes. */
export const edgeAdmin = (edge: EdgeAccess, path: string, init: { method?: string; json?: unknown } = {}) =>
  signedFetch(
    `${edge.edgeUrl}${path}`,
    {
      ...(init.method ? { method: init.method } : {}),
      ...(init.json !== undefined
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.json) }
        : {}),
    },
    { credentials: edge.awsCredentials, region: LOCAL_REGION, service: ADMIN_SIGNING_NAME },
  );

/** A DynamoDB document client on the test cloud's edge, to look at what was really stored. */
export const edgeDynamo = (edge: EdgeAccess, translateConfig?: TranslateConfig) =>
  DynamoDBDocumentClient.from(new DynamoDBClient(edgeClientConfig(edge)), translateConfig);

/**
 * Every stored reading of a device, straight from the tables: each with its enrichment joined from
 * the enrichments table as the readings API joins it.
 */
export const storedReadings = async (edge: EdgeAccess, deviceId: string) => {
  const client = edgeDynamo(edge);
  const query = (tableName: string) =>
    client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ConsistentRead: true,
      }),
    );
  const [readings, enrichments] = await Promise.all([
    query(tables.readings.name),
    query(tables.enrichments.name),
  ]);
  const items = readingsOfItems(readings.Items ?? []);
  return withEnrichments(items, enrichments.Items ?? []) as (ReadingItem & Record<string, unknown>)[];
};

/** `ReadingRecorded` events of a device seen on the telemetry bus. */
export const recordedEvents = (t: TestCloud, deviceId: string) =>
  t.busEvents.filter(
    ({ bus, event }) =>
      bus === buses.telemetry.name &&
      event['detail-type'] === 'ReadingRecorded' &&
      (event.detail.data as { deviceId?: string }).deviceId === deviceId,
  );

/**
 * Waits until the readings stream's consumers have taken every record written so far: the
 * announcer has then put the `ReadingRecorded` of every stored reading on the bus.
 */
export const streamDrained = (t: TestCloud, timeoutMs = 30_000) =>
  waitFor(() => t.cloud.streamConsumers.idle(), 'the readings stream to be drained', timeoutMs);

/** The readings the `ReadingRecorded` (v2) events of a device on the telemetry bus carried, each event's in order. */
export const recordedReadings = (t: TestCloud, deviceId: string) =>
  recordedEvents(t, deviceId).flatMap(({ event }) => {
    const { readings } = event.detail.data as { readings?: { readingId: string; timestamp: string }[] };
    const { eventId } = event.detail.metadata as { eventId: string };
    return (readings ?? []).map((reading) => ({ ...reading, eventId }));
  });

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
  edge: EdgeAccess,
  tableName: string,
  partitionKey: string,
  value: string,
) => {
  const result = await edgeDynamo(edge).send(
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
