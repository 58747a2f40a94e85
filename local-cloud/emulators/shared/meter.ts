/**
 * Billable units counted where they happen: the edge, the gateways and the runtimes add to a meter
 * what AWS would bill for the call they just served (a request, a write unit, a 64 KB event chunk,
 * a GB-second...). It knows no service and no price: a unit is a name, `service/unit` and an
 * optional dimension such as the table or the function (`dynamodb/wru/readings`). Metering is
 * off unless a meter is passed in, so the emulators do no extra work in ordinary runs.
 */
export class Meter {
  readonly #counts = new Map<string, number>();

  /** Adds `amount` of a unit (`service/unit`, optionally `/dimension`). */
  add(unit: string, amount = 1): void {
    if (amount === 0) return;
    this.#counts.set(unit, (this.#counts.get(unit) ?? 0) + amount);
  }

  /** Every unit counted since the last reset, by name in sorted order. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#counts.clear();
  }
}

/** How many `chunkBytes` chunks a payload of `bytes` is billed as (at least one). */
export const chunks = (bytes: number, chunkBytes: number): number =>
  Math.max(1, Math.ceil(bytes / chunkBytes));
