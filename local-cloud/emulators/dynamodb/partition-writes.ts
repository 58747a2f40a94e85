/**
 * Writes in flight to each partition of the streamed tables, as the change capture sees them: a
 * write counts from the moment it is captured until just before its record is appended (or until
 * it ends without one, a failed condition). The Lambda event source reads a batch once the
 * partitions of its records have no write in flight and none ended within its quiet period: the
 * writes of one upload (one ingest invocation, one device's partition) are then one batch, as AWS's
 * poll would mostly gather them, while other devices' writes, which never pause under load, do not
 * hold it.
 */

/**
 * What of an item and its table's key schema names a partition (`Item` and `KeyElement` of
 * `streams.ts` fit them; declared here since the streams import this module).
 */
type KeyValues = Readonly<Record<string, unknown>>;
type KeySchemaElement = { readonly AttributeName: string; readonly KeyType: string };

/** How long a partition's last write is remembered once none is in flight: longer than any quiet period. */
const REMEMBERED_MS = 60_000;
/** Forgotten partitions are swept once this many writes ended since the last sweep. */
const SWEEP_EVERY = 1_024;

/** A partition's identity: its table and the attribute value of its partition key. */
export const partitionOf = (
  table: string,
  keys: KeyValues,
  keySchema: readonly KeySchemaElement[],
): string => {
  const hash = keySchema.find((element) => element.KeyType === 'HASH');
  const value = hash ? keys[hash.AttributeName] : undefined;
  return `${table}\u0000${JSON.stringify(value ?? null)}`;
};

interface PartitionState {
  inFlight: number;
  lastEndedAt: number;
}

export class PartitionWrites {
  readonly #partitions = new Map<string, PartitionState>();
  readonly #listeners = new Set<() => void>();
  readonly #now: () => number;
  #endedSinceSweep = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Counts a write to these partitions as in flight; answers its end (which may be called more than once). */
  begin(partitions: readonly string[]): () => void {
    const unique = [...new Set(partitions)];
    for (const partition of unique) {
      const state = this.#partitions.get(partition);
      if (state) state.inFlight += 1;
      else this.#partitions.set(partition, { inFlight: 1, lastEndedAt: 0 });
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const now = this.#now();
      for (const partition of unique) {
        const state = this.#partitions.get(partition);
        if (!state) continue;
        state.inFlight -= 1;
        state.lastEndedAt = now;
      }
      this.#sweep(now);
      for (const listener of this.#listeners) listener();
    };
  }

  /**
   * How long a batch of these partitions should still wait: infinity while one has a write in
   * flight (its end is told to the listeners), else what is left of the quiet period after the last
   * write that ended (0 once it is over, or when none is known).
   */
  waitFor(partitions: Iterable<string>, quietMs: number): number {
    const now = this.#now();
    let wait = 0;
    for (const partition of partitions) {
      const state = this.#partitions.get(partition);
      if (!state) continue;
      if (state.inFlight > 0) return Number.POSITIVE_INFINITY;
      wait = Math.max(wait, state.lastEndedAt + quietMs - now);
    }
    return wait;
  }

  /** Calls back whenever a write ends; returns the unsubscribe. */
  onEnd(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Partitions remembered now (what the sweep keeps bounded). */
  size(): number {
    return this.#partitions.size;
  }

  #sweep(now: number): void {
    this.#endedSinceSweep += 1;
    if (this.#endedSinceSweep < SWEEP_EVERY) return;
    this.#endedSinceSweep = 0;
    for (const [partition, state] of this.#partitions)
      if (state.inFlight === 0 && now - state.lastEndedAt > REMEMBERED_MS) this.#partitions.delete(partition);
  }
}
