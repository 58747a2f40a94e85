import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from './service.ts';

/**
 * Why EventBridge gave up on a target, in the message attributes of its dead letter
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 */
export interface TargetDeliveryFailure {
  readonly RULE_ARN: string;
  readonly TARGET_ARN: string;
  readonly ERROR_CODE: string;
  readonly ERROR_MESSAGE: string;
  readonly EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';
  readonly RETRY_ATTEMPTS: number;
}

/**
 * Why a workflow gave up on its input after its own retries, as its failure path's
 * `sqs:sendMessage` task writes it: the state machine (`TARGET_ARN`), the execution, and the error
 * it caught. No rule: redriving it starts the state machine again with the body as input.
 */
export interface WorkflowFailure {
  readonly TARGET_ARN: string;
  readonly EXECUTION_ARN: string;
  readonly ERROR_CODE: string;
  readonly ERROR_MESSAGE: string;
}

/** A dead letter as it sits in an SQS dead-letter queue: the event as the body, why it failed in the attributes. */
export interface DeadLetter {
  readonly messageId: string;
  readonly sentAt: string;
  readonly body: BusEvent;
  readonly attributes: TargetDeliveryFailure | WorkflowFailure;
}

/** Dead-letter queues, one JSON Lines file per queue under `<data dir>/dlq/`, or in memory. */
export class DeadLetterQueues {
  readonly #dir: string | undefined;
  readonly #memory = new Map<string, DeadLetter[]>();

  constructor(dir?: string) {
    this.#dir = dir;
    if (dir) mkdirSync(dir, { recursive: true });
  }

  /** The queue name of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`) or a plain name. */
  static queueName(arnOrName: string): string {
    return arnOrName.slice(arnOrName.lastIndexOf(':') + 1);
  }

  #file(queue: string): string | undefined {
    return this.#dir ? join(this.#dir, `${queue}.jsonl`) : undefined;
  }

  send(queue: string, letter: Omit<DeadLetter, 'messageId' | 'sentAt'>): DeadLetter {
    const full: DeadLetter = { messageId: randomUUID(), sentAt: new Date().toISOString(), ...letter };
    const file = this.#file(queue);
    if (file) appendFileSync(file, `${JSON.stringify(full)}\n`);
    else this.#memory.set(queue, [...(this.#memory.get(queue) ?? []), full]);
    return full;
  }

  list(queue: string): DeadLetter[] {
    const file = this.#file(queue);
    if (!file) return [...(this.#memory.get(queue) ?? [])];
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as DeadLetter);
  }

  /** How many messages wait in a queue. */
  count(queue: string): number {
    const file = this.#file(queue);
    if (!file) return this.#memory.get(queue)?.length ?? 0;
    if (!existsSync(file)) return 0;
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '').length;
  }

  queues(): string[] {
    if (!this.#dir) return [...this.#memory.keys()];
    return readdirSync(this.#dir)
      .filter((file) => file.endsWith('.jsonl'))
      .map((file) => file.slice(0, -'.jsonl'.length));
  }

  /** Removes the given messages (after a successful redrive). */
  remove(queue: string, messageIds: ReadonlySet<string>): void {
    const kept = this.list(queue).filter((letter) => !messageIds.has(letter.messageId));
    const file = this.#file(queue);
    if (file) writeFileSync(file, kept.map((letter) => `${JSON.stringify(letter)}\n`).join(''));
    else this.#memory.set(queue, kept);
  }
}
