import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../infra/topology.ts';
import type { BusEvent, LocalEventBridge } from '../../local-cloud/emulators/eventbridge/service.ts';
import { ReadingRecorded } from '../../schemas/events.ts';
import { type EdgeAccess, edgeClientConfig } from '../support/local-cloud.ts';

/**
 * The clock every thread of this process reads alike: milliseconds since the Unix epoch at
 * `performance`'s resolution (each thread's `performance.now()` starts at its own `timeOrigin`).
 */
export const sharedClockMs = (): number => performance.timeOrigin + performance.now();

/** Events accepted on one bus, kept by reference so that tapping costs the bus next to nothing. */
export interface BusTap {
  readonly events: readonly BusEvent[];
  /** When each of `events` was accepted (the listeners run as PutEvents accepts), on {@link sharedClockMs}. */
  readonly acceptedAtMs: readonly number[];
  stop(): void;
}

export const tapBus = (bus: Pick<LocalEventBridge, 'subscribe'>, busName: string): BusTap => {
  const events: BusEvent[] = [];
  const acceptedAtMs: number[] = [];
  const stop = bus.subscribe((event, name) => {
    if (name !== busName) return;
    events.push(event);
    acceptedAtMs.push(sharedClockMs());
  });
  return { events, acceptedAtMs, stop };
};

/**
 * When the telemetry bus first accepted the `ReadingRecorded` of each reading, by `readingId`, on
 * {@link sharedClockMs}: the moment the reading was announced to every consumer.
 */
export const recordedAtOf = (tap: BusTap): Map<string, number> => {
  const recordedAt = new Map<string, number>();
  tap.events.forEach((event, i) => {
    if (event['detail-type'] !== ReadingRecorded.detailType || event.source !== ReadingRecorded.source)
      return;
    const detail = ReadingRecorded.detail.safeParse(event.detail);
    const at = tap.acceptedAtMs[i];
    if (!detail.success || at === undefined) return;
    for (const { readingId } of detail.data.data.readings) {
      if (!recordedAt.has(readingId)) recordedAt.set(readingId, at);
    }
  });
  return recordedAt;
};

/** What became of the readings one device was told were accepted. */
export interface DeviceAccount {
  readonly deviceId: string;
  /** Readings answered 202 `duplicate: false`. */
  readonly accepted: number;
  /** Items in the device's partition of the readings table. */
  readonly stored: number;
  /** Distinct `ReadingRecorded` event ids seen on the telemetry bus. */
  readonly emitted: number;
  /** Accepted readings that are not both stored and announced. */
  readonly lost: number;
  /** Extra deliveries of an event id already seen. */
  readonly duplicated: number;
  /** Stored readings whose answer the client never read (in flight when the load stopped). */
  readonly storedUnacknowledged: number;
}

const MAX_PAGES = 10_000;

/** Every stored timestamp of a device, read consistently. */
const storedOf = async (client: DynamoDBDocumentClient, deviceId: string) => {
  const timestamps = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.send(
      new QueryCommand({
        TableName: tables.readings.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ExpressionAttributeNames: { '#t': 'timestamp' },
        ProjectionExpression: '#t',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of result.Items ?? [])
      if (typeof item.timestamp === 'string') timestamps.add(item.timestamp);
    startKey = result.LastEvaluatedKey;
    if (!startKey) return { timestamps };
  }
  throw new Error(`the readings of ${deviceId} span more than ${MAX_PAGES} pages`);
};

interface Announced {
  readonly byDevice: Map<string, { timestamps: Set<string>; eventIds: Map<string, number> }>;
  malformed: number;
  /** Events of the tap read so far. */
  read: number;
}

/**
 * Reads the `ReadingRecorded` events the tap gathered since the last call, each checked against
 * its contract, into timestamps and event-id counts per device.
 */
const readAnnouncements = (announced: Announced, events: readonly BusEvent[]): Announced => {
  const { byDevice } = announced;
  for (; announced.read < events.length; announced.read++) {
    const event = events[announced.read];
    if (!event) continue;
    if (event['detail-type'] !== ReadingRecorded.detailType || event.source !== ReadingRecorded.source)
      continue;
    const detail = ReadingRecorded.detail.safeParse(event.detail);
    if (!detail.success) {
      announced.malformed++;
      continue;
    }
    const { metadata, data } = detail.data;
    let device = byDevice.get(data.deviceId);
    if (!device) {
      device = { timestamps: new Set(), eventIds: new Map() };
      byDevice.set(data.deviceId, device);
    }
    for (const reading of data.readings) device.timestamps.add(reading.timestamp);
    device.eventIds.set(metadata.eventId, (device.eventIds.get(metadata.eventId) ?? 0) + 1);
  }
  return announced;
};

export interface Accounting {
  readonly devices: readonly DeviceAccount[];
  /** Items stored by the storage ceiling's puts, against the puts that reported success. */
  readonly storeCheck: { readonly deviceId: string; readonly expected: number; readonly stored: number };
  /** `ReadingRecorded` events that did not match their schema. */
  readonly malformedEvents: number;
  readonly lost: number;
  readonly duplicated: number;
}

interface AccountingArgs {
  readonly edge: EdgeAccess;
  readonly telemetry: BusTap;
  readonly ingest: readonly { deviceId: string; acceptedTimestamps: readonly string[] }[];
  readonly store: { deviceId: string; storedItems: number };
  /** How long to wait for the figures to stop moving. */
  readonly settleMs: number;
}

/**
 * Accounts for every reading acknowledged to a device: it must be in the readings table and have
 * been announced on the telemetry bus exactly once (the architecture's "do not lose events";
 * event ids are deterministic, so a repeat is visible as the same `detail.metadata.eventId`).
 * Requests still in flight when the load stopped are left to finish: the account is taken again
 * until two in a row agree (at most `settleMs`).
 */
export const accountFor = async (args: AccountingArgs): Promise<Accounting> => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(edgeClientConfig(args.edge)));
  const announced: Announced = { byDevice: new Map(), malformed: 0, read: 0 };
  try {
    const deadline = performance.now() + args.settleMs;
    let previous = await takeAccount(client, args, announced);
    for (let attempt = 0; attempt < 100 && performance.now() < deadline; attempt++) {
      await sleep(500);
      const current = await takeAccount(client, args, announced);
      if (JSON.stringify(current) === JSON.stringify(previous)) return current;
      previous = current;
    }
    return previous;
  } finally {
    client.destroy();
  }
};

const takeAccount = async (
  client: DynamoDBDocumentClient,
  args: AccountingArgs,
  announced: Announced,
): Promise<Accounting> => {
  const { byDevice, malformed } = readAnnouncements(announced, args.telemetry.events);
  const devices: DeviceAccount[] = [];
  for (const { deviceId, acceptedTimestamps } of args.ingest) {
    const stored = await storedOf(client, deviceId);
    const emitted = byDevice.get(deviceId) ?? { timestamps: new Set<string>(), eventIds: new Map() };
    const accepted = new Set(acceptedTimestamps);
    let lost = 0;
    for (const timestamp of accepted) {
      if (!stored.timestamps.has(timestamp) || !emitted.timestamps.has(timestamp)) lost++;
    }
    let storedUnacknowledged = 0;
    for (const timestamp of stored.timestamps) if (!accepted.has(timestamp)) storedUnacknowledged++;
    let duplicated = 0;
    for (const count of emitted.eventIds.values()) duplicated += count - 1;
    devices.push({
      deviceId,
      accepted: accepted.size,
      stored: stored.timestamps.size,
      emitted: emitted.eventIds.size,
      lost,
      duplicated,
      storedUnacknowledged,
    });
  }
  const storeStored = await storedOf(client, args.store.deviceId);
  return {
    devices,
    storeCheck: {
      deviceId: args.store.deviceId,
      expected: args.store.storedItems,
      stored: storeStored.timestamps.size,
    },
    malformedEvents: malformed,
    lost: devices.reduce((sum, d) => sum + d.lost, 0),
    duplicated: devices.reduce((sum, d) => sum + d.duplicated, 0),
  };
};
