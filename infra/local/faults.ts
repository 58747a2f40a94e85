import { z } from 'zod';

/** A fault as tests post it to the edge's `/_sensorbus/faults`. */
export const FaultRequest = z
  .object({
    service: z.enum(['dynamodb', 'events', 'sns', 'states', 'apigateway', 'target', 'lambda']),
    operation: z.string().min(1).optional(),
    mode: z.enum(['error', 'throttle', 'fail-entries', 'hang']),
    times: z.number().int().positive().optional(),
    after: z.number().int().nonnegative().optional(),
  })
  .strict();

/**
 * Fault injection for tests and demos: make an emulated service fail the way AWS services fail,
 * so that every failure path of the system can be exercised against the real local cloud.
 */
export type FaultMode =
  /** Answer 500 InternalException (AWS's "service error"). */
  | 'error'
  /** Answer 400 ThrottlingException. */
  | 'throttle'
  /** Accept the call but fail every entry (PutEvents partial failure). */
  | 'fail-entries'
  /** Never answer: the caller's process may be killed meanwhile. */
  | 'hang';

export interface FaultSpec {
  /** `target` makes EventBridge deliveries to one target ARN (the operation) fail, as a throwing target would. */
  readonly service: 'dynamodb' | 'events' | 'sns' | 'states' | 'apigateway' | 'target' | 'lambda';
  /** An operation name (`PutEvents`, `PutItem`, a target ARN); every operation when absent. */
  readonly operation?: string;
  readonly mode: FaultMode;
  /** How many calls fail before the fault clears itself; forever when absent. */
  readonly times?: number;
  /** How many matching calls go through untouched before the fault starts (a crash mid-batch). */
  readonly after?: number;
}

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
