/**
 * The local cloud's counters, for `npm start`'s status line: what the REST gateway answered, what
 * EventBridge still has to deliver, what it gave up on.
 */
import { z } from 'zod';
import type { FunctionName } from '../../infra/api.ts';
import type { GatewayAnswer } from '../emulators/apigateway/rest-gateway.ts';
import type { DeadLetterQueues } from '../emulators/eventbridge/dead-letters.ts';

export interface LocalCloudStats {
  /** Readings the ingest function accepted (stored now or before: duplicates count) since start. */
  readonly acceptedReadings: number;
  /** Requests answered 429 since start, by the gateway or a function. */
  readonly throttledRequests: number;
  /** EventBridge deliveries neither delivered nor dead-lettered yet. */
  readonly pendingDeliveries: number;
  /** Events in the dead-letter queues. */
  readonly deadLetters: number;
  /** This process's resident memory. */
  readonly rssBytes: number;
}

const INGEST: FunctionName = 'ingest';

/** A batch answer carries its `accepted` count; a single reading's 202 is one reading. */
const IngestAnswer = z.union([
  z.object({ accepted: z.number().int().nonnegative() }),
  z.object({ readingId: z.string() }).transform(() => ({ accepted: 1 })),
]);

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Counts, from the gateway's answers, the readings accepted and the requests throttled. */
export class GatewayCounters {
  #accepted = 0;
  #throttled = 0;

  readonly record = (answer: GatewayAnswer): void => {
    if (answer.statusCode === 429) this.#throttled += 1;
    if (answer.function !== INGEST || (answer.statusCode !== 202 && answer.statusCode !== 207)) return;
    const parsed = IngestAnswer.safeParse(parseJson(answer.body));
    if (parsed.success) this.#accepted += parsed.data.accepted;
  };

  get acceptedReadings(): number {
    return this.#accepted;
  }

  get throttledRequests(): number {
    return this.#throttled;
  }
}

/** Every dead letter in every queue. */
export const deadLetterCount = (queues: DeadLetterQueues): number =>
  queues.queues().reduce((sum, queue) => sum + queues.count(queue), 0);
