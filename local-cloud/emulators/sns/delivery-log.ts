import { mkdirSync } from 'node:fs';

/** How many records `list()` keeps in memory; the files keep everything. */
const REMEMBERED = 1000;

/**
 * What the local SNS hands to the developer rather than to a network (mail, SMS, dead letters):
 * files under `dir`, which exists from the start, or nothing on disk when it is absent; and the
 * last records in memory, for tests and the console.
 */
export class DeliveryLog<T> {
  protected readonly dir: string | undefined;
  readonly #recent: T[] = [];

  constructor(dir?: string) {
    this.dir = dir;
    if (dir) mkdirSync(dir, { recursive: true });
  }

  protected remember(record: T): void {
    this.#recent.push(record);
    if (this.#recent.length > REMEMBERED) this.#recent.shift();
  }

  /** The records since start, oldest first (at most the last 1000). */
  list(): readonly T[] {
    return [...this.#recent];
  }
}
