/**
 * The event ids a dashboard has already applied. Delivery is at least once (EventBridge retries,
 * the announcer's stream batch delivered again, a workflow publishing a batch again), and the
 * push handler keeps no record of what it sent, so the same event may arrive twice: the dashboard
 * drops a repeated `eventId`.
 * Repeats arrive within minutes of the first copy (the push rule gives up after 5 minutes), so
 * the most recent `capacity` ids are enough to remember.
 */
export class SeenEvents {
  readonly #ids = new Set<string>();

  constructor(readonly capacity = 10_000) {}

  /** Remembers `eventId`; `false` when it was seen already, and the event should be dropped. */
  add(eventId: string): boolean {
    if (this.#ids.has(eventId)) return false;
    this.#ids.add(eventId);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
    return true;
  }
}
