import { z } from 'zod';

/**
 * Fault injection for tests and demos: make an emulated service fail the way AWS services fail,
 * so that every failure path of the system can be exercised against the real local cloud. This is
 * a fault as tests post it to the edge's `/_sensorbus/faults`. The edge applies it, once for every
 * service, to the API calls it routes (`dynamodb`, `events`, `states`, `sns`, `apigateway`); the two
 * faults that are not API calls apply where they happen: `target` makes EventBridge deliveries to
 * one target ARN (the operation) fail, as a throwing target would, and `lambda` the workflow's
 * invocation of one function. `after` lets that many matching calls through first (a crash mid-batch).
 */
export const FaultRequest = z
  .object({
    service: z.enum(['dynamodb', 'events', 'sns', 'states', 'apigateway', 'target', 'lambda']),
    operation: z.string().min(1).optional(),
    mode: z.enum(['error', 'throttle', 'fail-entries', 'hang']),
    times: z.number().int().positive().optional(),
    after: z.number().int().nonnegative().optional(),
  })
  .strict();

/** A fault that applies to calls of one service (and operation), until it has failed `times` calls. */
export type FaultSpec = z.infer<typeof FaultRequest>;

/**
 * What a faulty service does: `error` answers 500 (AWS's service error), `throttle` a throttling
 * error, `fail-entries` accepts the call but fails every entry (PutEvents partial failure), `hang`
 * never answers (the caller's process may be killed meanwhile).
 */
export type FaultMode = FaultSpec['mode'];

interface ActiveFault extends FaultSpec {
  remaining: number;
  passed: number;
}

export class Faults {
  #active: ActiveFault[] = [];

  inject(spec: FaultSpec): void {
    this.#active.push({ ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, passed: 0 });
  }

  clear(service?: FaultSpec['service']): void {
    this.#active = service ? this.#active.filter((fault) => fault.service !== service) : [];
  }

  /** Active faults, each with how many more calls it will fail. */
  list(): (FaultSpec & { remaining: number | null })[] {
    return this.#active.map((fault) => ({
      ...fault,
      remaining: Number.isFinite(fault.remaining) ? fault.remaining : null,
    }));
  }

  /** The fault that applies to this call, consuming one of its allowed failures. */
  take(service: FaultSpec['service'], operation: string): FaultMode | undefined {
    const fault = this.#active.find(
      (f) =>
        f.service === service && (f.operation === undefined || f.operation === operation) && f.remaining > 0,
    );
    if (!fault) return undefined;
    if (fault.passed < (fault.after ?? 0)) {
      fault.passed += 1;
      return undefined;
    }
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#active = this.#active.filter((f) => f !== fault);
    return fault.mode;
  }
}
