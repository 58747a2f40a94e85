import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import { readingsOfItems } from '../../handlers/lib/readings-store.ts';
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
  /**
   * Distinct readings in the device's partition of the readings table, hour items flattened into
   * their readings as the readers flatten them (`readingsOfItems`).
   */
  readonly stored: number;
  /** Distinct readings (by `readingId`) that `ReadingRecorded` events on the telemetry bus carried. */
  readonly announced: number;
  /** Accepted readings that are not both stored and announced. */
  readonly lost: number;
  /**
   * Announcements of a reading past its first, across every event that carried it, plus stored
   * copies of a reading past its first (a reading both packed in its hour item and in an item of
   * its own).
   */
  readonly duplicated: number;
  /** Of `duplicated`: deliveries again of an event id already seen (consumers drop those as repeats). */
  readonly repeatedEvents: number;
  /** Stored readings whose answer the client never read (in flight when the load stopped). */
  readonly storedUnacknowledged: number;
  /** Stored readings, acknowledged or not, that no `ReadingRecorded` announced: the outbox failed them. */
  readonly unannounced: number;
}

const MAX_PAGES = 10_000;

/**
 * Every stored reading of a device, read consistently, with how many items hold it: each item is
 * flattened on its own by the readers' `readingsOfItems`, so a reading held twice is seen twice.
 */
const storedOf = async (client: DynamoDBDocumentClient, deviceId: string): Promise<Map<string, number>> => {
  const copies = new Map<string, number>();
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.send(
      new QueryCommand({
        TableName: tables.readings.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of result.Items ?? [])
      for (const { timestamp } of readingsOfItems([item]))
        copies.set(timestamp, (copies.get(timestamp) ?? 0) + 1);
    startKey = result.LastEvaluatedKey;
    if (!startKey) return copies;
  }
  throw new Error(`the readings of ${deviceId} span more than ${MAX_PAGES} pages`);
};

/** What the `ReadingRecorded` events of one device announced, by `readingId`. */
interface DeviceAnnouncements {
  /** The ids of the events that carried each reading, one entry per delivery. */
  readonly eventIdsOf: Map<string, string[]>;
}

interface Announced {
  readonly byDevice: Map<string, DeviceAnnouncements>;
  malformed: number;
  /** Events of the tap read so far. */
  read: number;
}

/**
 * Reads the `ReadingRecorded` events the tap gathered since the last call, each checked against
 * its contract, into the deliveries of each reading by `readingId`, per device: one v2 event
 * carries every reading of an upload (or of a stream batch), so events are not readings.
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
      device = { eventIdsOf: new Map() };
      byDevice.set(data.deviceId, device);
    }
    for (const { readingId } of data.readings) {
      const eventIds = device.eventIdsOf.get(readingId);
      if (eventIds) eventIds.push(metadata.eventId);
      else device.eventIdsOf.set(readingId, [metadata.eventId]);
    }
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
  readonly unannounced: number;
  /**
   * Whether the readings stream and the functions were idle when the account was taken, and two
   * accounts taken apart agreed; false when `settleMs` ran out first (a loss may then be a delay).
   */
  readonly settled: boolean;
  /** How long the account waited for the stream and the bus to settle (ms). */
  readonly settleWaitMs: number;
}

export interface AccountingArgs {
  readonly edge: EdgeAccess;
  readonly telemetry: Pick<BusTap, 'events'>;
  readonly ingest: readonly { deviceId: string; acceptedTimestamps: readonly string[] }[];
  readonly store: { deviceId: string; storedItems: number };
  /**
   * Whether nothing is left to move the figures: every record of the readings stream taken by its
   * consumers (so the announcer has put each stored reading's event on the bus) and no function
   * running (a request still being served may store more).
   */
  readonly idle: () => boolean;
  /** How long to wait for the figures to stop moving. */
  readonly settleMs: number;
}

/** Polls `idle` until it holds, or the deadline passes: whether it held. */
const untilIdle = async (idle: () => boolean, deadline: number): Promise<boolean> => {
  for (;;) {
    if (idle()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(50);
  }
};

/** The figures two accounts must agree on (the tap is read incrementally, so the accounts are compared, not the state). */
const figuresOf = (account: Omit<Accounting, 'settled' | 'settleWaitMs'>): string =>
  JSON.stringify({
    devices: account.devices,
    storeCheck: account.storeCheck,
    malformed: account.malformedEvents,
  });

/**
 * Accounts for every reading acknowledged to a device: it must be in the readings table (hour
 * items flattened) and have been announced on the telemetry bus, each exactly once (the
 * architecture's "do not lose events"; event ids are deterministic, so a redelivery is visible as
 * the same `detail.metadata.eventId`, another announcement of a reading as another one). Stored
 * readings reach the bus through the readings stream after their answer, so the account waits
 * until the stream is drained and no function runs, takes the account, and takes it again after
 * a pause until two agree (at most `settleMs`): a reading still missing then is lost, not late.
 */
export const accountFor = async (args: AccountingArgs): Promise<Accounting> => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(edgeClientConfig(args.edge)));
  const announced: Announced = { byDevice: new Map(), malformed: 0, read: 0 };
  const started = performance.now();
  const deadline = started + args.settleMs;
  try {
    let idle = await untilIdle(args.idle, deadline);
    let previous = await takeAccount(client, args, announced);
    for (let attempt = 0; attempt < 100; attempt++) {
      await sleep(500);
      idle = (await untilIdle(args.idle, deadline)) && idle;
      const current = await takeAccount(client, args, announced);
      const agreed = figuresOf(current) === figuresOf(previous);
      previous = current;
      if ((agreed && idle) || performance.now() >= deadline)
        return { ...current, settled: agreed && idle, settleWaitMs: performance.now() - started };
      idle = true;
    }
    return { ...previous, settled: false, settleWaitMs: performance.now() - started };
  } finally {
    client.destroy();
  }
};

const takeAccount = async (
  client: DynamoDBDocumentClient,
  args: AccountingArgs,
  announced: Announced,
): Promise<Omit<Accounting, 'settled' | 'settleWaitMs'>> => {
  const { byDevice, malformed } = readAnnouncements(announced, args.telemetry.events);
  const devices: DeviceAccount[] = [];
  for (const { deviceId, acceptedTimestamps } of args.ingest) {
    const stored = await storedOf(client, deviceId);
    const { eventIdsOf } = byDevice.get(deviceId) ?? { eventIdsOf: new Map<string, string[]>() };
    const accepted = new Set(acceptedTimestamps);
    const isAnnounced = (timestamp: string) => eventIdsOf.has(readingIdOf(deviceId, timestamp));
    let lost = 0;
    for (const timestamp of accepted) if (!stored.has(timestamp) || !isAnnounced(timestamp)) lost++;
    let storedUnacknowledged = 0;
    let unannounced = 0;
    let duplicated = 0;
    for (const [timestamp, copies] of stored) {
      if (!accepted.has(timestamp)) storedUnacknowledged++;
      if (!isAnnounced(timestamp)) unannounced++;
      duplicated += copies - 1;
    }
    let repeatedEvents = 0;
    for (const eventIds of eventIdsOf.values()) {
      duplicated += eventIds.length - 1;
      repeatedEvents += eventIds.length - new Set(eventIds).size;
    }
    devices.push({
      deviceId,
      accepted: accepted.size,
      stored: stored.size,
      announced: eventIdsOf.size,
      lost,
      duplicated,
      repeatedEvents,
      storedUnacknowledged,
      unannounced,
    });
  }
  const storeStored = await storedOf(client, args.store.deviceId);
  return {
    devices,
    storeCheck: { deviceId: args.store.deviceId, expected: args.store.storedItems, stored: storeStored.size },
    malformedEvents: malformed,
    lost: devices.reduce((sum, d) => sum + d.lost, 0),
    duplicated: devices.reduce((sum, d) => sum + d.duplicated, 0),
    unannounced: devices.reduce((sum, d) => sum + d.unannounced, 0),
  };
};
