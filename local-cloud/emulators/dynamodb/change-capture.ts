/**
 * Change capture for tables with a stream: every item-level write to such a table becomes a stream
 * record before the write is answered, and none is lost if the process dies at any point.
 *
 * For each write, under a lock on the items it touches: read each item (its old image), journal the
 * intent, forward the write, read each item again (its new image), append a record for each item
 * that changed, mark the intent done, answer. A write that changed nothing (a failed condition, a
 * put of the identical item) makes no record, as on AWS
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html: "If you perform a
 * PutItem or UpdateItem operation that does not change any data in an item, DynamoDB Streams does
 * not write a stream record for that operation"). After a crash, each intent still in the journal
 * is resolved the same way, against the item as it is now; its record is appended unless the
 * stream already has it (each change carries its event id), so a record is neither lost nor doubled.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Journal } from '../shared/journal.ts';
import { partitionOf } from './partition-writes.ts';
import {
  Item,
  type ItemChange,
  type KeyElement,
  type StreamStore,
  sameItem,
  TTL_IDENTITY,
} from './streams.ts';

/** A write's intent, journaled before it reaches the store: the items it may change and their old images. */
export const Intent = z.object({
  changes: z.array(
    z.object({ table: z.string(), eventId: z.string(), keys: Item, oldImage: Item.optional() }),
  ),
  /** A deletion by TTL, whose REMOVE record names the TTL service as its user identity. */
  ttl: z.boolean().optional(),
});
export type Intent = z.infer<typeof Intent>;

/** One item a write touches. */
export interface Touched {
  readonly table: string;
  readonly keys: Item;
}

/** The key attributes of an item, or undefined when it lacks one (the store then refuses the write itself). */
export const keysOf = (item: Item, keySchema: readonly KeyElement[]): Item | undefined => {
  const keys: Item = {};
  for (const { AttributeName } of keySchema) {
    const value = item[AttributeName];
    if (value === undefined) return undefined;
    keys[AttributeName] = value;
  }
  return keys;
};

/** Serialises writes per item, so that an item's old and new images bracket exactly one write. */
class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  /** Takes every lock, in a fixed order (no deadlock between writes sharing items); returns the release. */
  async acquire(keys: readonly string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const key of [...new Set(keys)].sort()) releases.push(await this.#one(key));
    return () => {
      for (const release of releases) release();
    };
  }

  async #one(key: string): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}

export interface ChangeCaptureOptions {
  readonly streams: StreamStore;
  readonly journal: Journal<Intent>;
  /** Reads an item strongly consistently, as it is in the store now. */
  readonly getItem: (table: string, keys: Item) => Promise<Item | undefined>;
}

export class ChangeCapture {
  readonly #streams: StreamStore;
  readonly #journal: Journal<Intent>;
  readonly #getItem: ChangeCaptureOptions['getItem'];
  readonly #locks = new KeyLocks();

  constructor(options: ChangeCaptureOptions) {
    this.#streams = options.streams;
    this.#journal = options.journal;
    this.#getItem = options.getItem;
  }

  /** Whether writes to this table are captured (it has an enabled stream), and with which key schema. */
  keySchemaOf(table: string): readonly KeyElement[] | undefined {
    return this.#streams.enabledStream(table)?.keySchema;
  }

  /**
   * Runs a write that touches these items, recording a stream record for each item it changed
   * before returning what the write returned (or threw).
   */
  async capture<T>(
    touched: readonly Touched[],
    write: () => Promise<T>,
    options: { ttl?: boolean } = {},
  ): Promise<T> {
    const streamed = touched.filter((t) => this.keySchemaOf(t.table) !== undefined);
    if (streamed.length === 0) return write();
    const lockKey = (t: Touched) => `${t.table}\u0000${JSON.stringify(t.keys)}`;
    const unique = [...new Map(streamed.map((t) => [lockKey(t), t])).values()];
    // In flight from now until just before its records are appended: a stream consumer gathering
    // a batch of these partitions waits for it (see partition-writes.ts).
    const ended = this.#streams.partitionWrites.begin(
      unique.map((t) => partitionOf(t.table, t.keys, this.keySchemaOf(t.table) ?? [])),
    );
    const release = await this.#locks.acquire(unique.map(lockKey)).catch((error: unknown) => {
      ended();
      throw error;
    });
    try {
      const oldImages = await Promise.all(unique.map((t) => this.#getItem(t.table, t.keys)));
      const intent: Intent = {
        changes: unique.map((t, i) => ({
          table: t.table,
          eventId: randomUUID().replaceAll('-', ''),
          keys: t.keys,
          ...(oldImages[i] ? { oldImage: oldImages[i] } : {}),
        })),
        ...(options.ttl ? { ttl: true } : {}),
      };
      const id = randomUUID();
      this.#journal.put(id, intent);
      try {
        return await write();
      } finally {
        await this.#resolve(id, intent, false, ended);
      }
    } finally {
      ended();
      release();
    }
  }

  /** Resolves the intents a previous run left pending: records what their writes changed, once. */
  async recover(): Promise<number> {
    let recorded = 0;
    for (const { id, value } of this.#journal.recovered()) recorded += await this.#resolve(id, value, true);
    return recorded;
  }

  /** Appends the records of an intent's changes, calling `beforeAppend` (the end of the write in flight) just before. */
  async #resolve(
    id: string,
    intent: Intent,
    recovering: boolean,
    beforeAppend: () => void = () => {},
  ): Promise<number> {
    const byTable = new Map<string, ItemChange[]>();
    for (const change of intent.changes) {
      if (recovering && this.#streams.hasEvent(change.table, change.eventId)) continue;
      const newImage = await this.#getItem(change.table, change.keys);
      if (sameItem(change.oldImage, newImage)) continue;
      const changes = byTable.get(change.table) ?? [];
      changes.push({
        eventId: change.eventId,
        keys: change.keys,
        oldImage: change.oldImage,
        newImage,
        ...(intent.ttl && newImage === undefined ? { userIdentity: TTL_IDENTITY } : {}),
      });
      byTable.set(change.table, changes);
    }
    let recorded = 0;
    beforeAppend();
    for (const [table, changes] of byTable) recorded += this.#streams.append(table, changes).length;
    this.#journal.done(id);
    return recorded;
  }
}
