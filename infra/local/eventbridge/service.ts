import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { AwsError } from '../aws-protocol.ts';
import type { Faults } from '../faults.ts';

/** An event as EventBridge delivers it (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** Not part of the delivered event: when the bus accepted it, for the archive and replays. */
  'ingestion-time'?: string;
}

export type BusListener = (event: BusEvent, busName: string) => void;

export interface LocalEventBridgeOptions {
  readonly region: string;
  readonly accountId: string;
  readonly busNames: readonly string[];
  /** Where each archived bus appends its events (`<dir>/<bus>.jsonl`); in memory when absent. */
  readonly archiveDir?: string;
  readonly archivedBuses: readonly string[];
  readonly faults: Faults;
}

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html */
export const MAX_PUT_EVENTS_ENTRIES = 10;
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

const isoSeconds = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

interface PutEventsEntryInput {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

/** Size of an entry as EventBridge counts it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). */
export const entrySize = (entry: PutEventsEntryInput): number => {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const field of [entry.Source, entry.DetailType, entry.Detail]) {
    if (typeof field === 'string') size += Buffer.byteLength(field);
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources)
      if (typeof resource === 'string') size += Buffer.byteLength(resource);
  }
  return size;
};

/** The local EventBridge: custom buses, PutEvents with AWS's validation and limits, an archive per bus. */
export class LocalEventBridge {
  readonly #options: LocalEventBridgeOptions;
  readonly #listeners = new Set<BusListener>();
  readonly #archives = new Map<string, WriteStream | BusEvent[]>();

  constructor(options: LocalEventBridgeOptions) {
    this.#options = options;
    if (options.archiveDir) mkdirSync(options.archiveDir, { recursive: true });
    for (const bus of options.archivedBuses) {
      this.#archives.set(
        bus,
        options.archiveDir ? createWriteStream(join(options.archiveDir, `${bus}.jsonl`), { flags: 'a' }) : [],
      );
    }
  }

  busArn(busName: string): string {
    return `arn:aws:events:${this.#options.region}:${this.#options.accountId}:event-bus/${busName}`;
  }

  /** Resolves `EventBusName`, which may be a name or an ARN; the default bus is not emulated. */
  #busOf(name: unknown): string | undefined {
    const raw = typeof name === 'string' && name !== '' ? name : 'default';
    const busName = raw.startsWith('arn:') ? raw.slice(raw.lastIndexOf('/') + 1) : raw;
    return this.#options.busNames.includes(busName) ? busName : undefined;
  }

  /** Runs listeners on every accepted event (tests, the tail command, rule delivery). */
  subscribe(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    const fault = this.#options.faults.take('events', operation);
    if (fault === 'hang') await new Promise(() => {});
    if (fault === 'error') throw new AwsError('InternalException', 'Injected fault: internal error', 500);
    if (fault === 'throttle') throw new AwsError('ThrottlingException', 'Rate exceeded', 400);
    switch (operation) {
      case 'PutEvents':
        return this.putEvents(input, fault === 'fail-entries');
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local EventBridge`,
        );
    }
  }

  putEvents(input: Record<string, unknown>, failEntries = false): unknown {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES} and greater than or equal to 1`,
      );
    }
    const total = entries.reduce((sum: number, entry: PutEventsEntryInput) => sum + entrySize(entry), 0);
    if (total > MAX_PUT_EVENTS_BYTES) {
      throw new AwsError(
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    }
    const results = entries.map((entry: PutEventsEntryInput) => {
      if (failEntries)
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Injected fault: entry not accepted' };
      return this.#accept(entry);
    });
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  #accept(entry: PutEventsEntryInput): { EventId: string } | { ErrorCode: string; ErrorMessage: string } {
    for (const [field, name] of [
      [entry.Source, 'Source'],
      [entry.DetailType, 'DetailType'],
      [entry.Detail, 'Detail'],
    ] as const) {
      if (typeof field !== 'string' || field === '') {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
        };
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const busName = this.#busOf(entry.EventBusName);
    if (!busName) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Event bus ${String(entry.EventBusName ?? 'default')} does not exist.`,
      };
    }
    const now = new Date();
    const time =
      entry.Time === undefined
        ? now
        : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : String(entry.Time));
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType as string,
      source: entry.Source as string,
      account: this.#options.accountId,
      time: isoSeconds(Number.isNaN(time.getTime()) ? now : time),
      region: this.#options.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail: detail as Record<string, unknown>,
    };
    this.#archive(busName, { ...event, 'ingestion-time': now.toISOString() });
    for (const listener of this.#listeners) listener(event, busName);
    return { EventId: event.id };
  }

  #archive(busName: string, event: BusEvent): void {
    const archive = this.#archives.get(busName);
    if (!archive) return;
    if (Array.isArray(archive)) archive.push(event);
    else archive.write(`${JSON.stringify(event)}\n`);
  }

  /** Every event archived on a bus, oldest first. */
  archived(busName: string): BusEvent[] {
    const archive = this.#archives.get(busName);
    if (Array.isArray(archive)) return [...archive];
    const file = this.#options.archiveDir && join(this.#options.archiveDir, `${busName}.jsonl`);
    if (!file || !existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as BusEvent);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#archives.values()].map(
        (archive) =>
          new Promise<void>((resolve) => {
            if (Array.isArray(archive)) resolve();
            else archive.end(resolve);
          }),
      ),
    );
  }
}
