import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DeadLetter, DeadLetterQueues } from '../eventbridge/dead-letters.ts';
import { JournaledEvent } from '../eventbridge/service.ts';
import type { LocalSqs } from './sqs.ts';

export interface SqsDeadLetterQueuesOptions {
  /** The dead-letter queues declared up front (created by whoever declares them). */
  readonly declared?: readonly string[];
  /**
   * Where each dead-letter queue's messages are mirrored as `<queue>.jsonl`, rewritten whenever
   * the queue changes, for a developer to read with a text editor; the queue stays the truth.
   */
  readonly mirrorDir?: string;
}

/** Each attribute parses to its value, which is what a dead letter's attributes hold. */
const Text = z
  .object({ DataType: z.literal('String'), StringValue: z.string() })
  .transform((a) => a.StringValue);
const Count = z
  .object({ DataType: z.literal('Number'), StringValue: z.coerce.number().int() })
  .transform((a) => a.StringValue);
/** An empty error message is left out of the message (see `asMessageAttributes`) and read back as ''. */
const ErrorMessage = Text.optional().transform((message) => message ?? '');

/** Why EventBridge gave up on a target, as message attributes (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). */
const TargetFailureAttributes = z.object({
  RULE_ARN: Text,
  TARGET_ARN: Text,
  ERROR_CODE: Text,
  ERROR_MESSAGE: ErrorMessage,
  EXHAUSTED_RETRY_CONDITION: z
    .object({
      DataType: z.literal('String'),
      StringValue: z.enum(['MaximumRetryAttempts', 'MaximumEventAgeInSeconds']),
    })
    .transform((a) => a.StringValue),
  RETRY_ATTEMPTS: Count,
});

/** Why a workflow parked its input, as its `sqs:sendMessage` task writes it. */
const WorkflowFailureAttributes = z.object({
  TARGET_ARN: Text,
  EXECUTION_ARN: Text,
  ERROR_CODE: Text,
  ERROR_MESSAGE: ErrorMessage,
});

type Attributes = Record<string, { DataType: string; StringValue: string }>;

/** SQS refuses an empty attribute value; an empty error message is left out and read back as ''. */
const asMessageAttributes = (attributes: DeadLetter['attributes']): Attributes =>
  Object.fromEntries(
    Object.entries(attributes).flatMap(([name, value]) =>
      value === ''
        ? []
        : [
            [
              name,
              typeof value === 'number'
                ? { DataType: 'Number', StringValue: String(value) }
                : { DataType: 'String', StringValue: String(value) },
            ],
          ],
    ),
  );

const attributesOf = (attributes: unknown): DeadLetter['attributes'] | undefined => {
  const target = TargetFailureAttributes.safeParse(attributes);
  if (target.success) return target.data;
  const workflow = WorkflowFailureAttributes.safeParse(attributes);
  return workflow.success ? workflow.data : undefined;
};

const eventOf = (body: string) => {
  try {
    const event = JournaledEvent.safeParse(JSON.parse(body));
    return event.success ? event.data : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The dead-letter queues as real queues of the local SQS: EventBridge's dead letters are SQS
 * messages whose body is the event and whose attributes say why, as on AWS, so
 * `aws sqs receive-message` reads them, and a workflow's `sqs:sendMessage` parks its input in the
 * same queues. Which queues are dead-letter queues: those declared, those something sent a dead
 * letter to, and those another queue's redrive policy names.
 */
export class SqsDeadLetterQueues implements DeadLetterQueues {
  readonly #sqs: LocalSqs;
  readonly #known: Set<string>;
  readonly #mirrorDir: string | undefined;

  constructor(sqs: LocalSqs, options: SqsDeadLetterQueuesOptions = {}) {
    this.#sqs = sqs;
    this.#known = new Set(options.declared ?? []);
    this.#mirrorDir = options.mirrorDir;
    if (this.#mirrorDir) {
      mkdirSync(this.#mirrorDir, { recursive: true });
      for (const queue of this.queues()) this.#mirror(queue);
      sqs.onChange((queue) => {
        if (this.queues().includes(queue)) this.#mirror(queue);
      });
    }
  }

  send(queue: string, letter: Omit<DeadLetter, 'messageId' | 'sentAt'>): DeadLetter {
    const sentAt = new Date().toISOString();
    this.#known.add(queue);
    const { MessageId } = this.#sqs.send(
      queue,
      JSON.stringify(letter.body),
      asMessageAttributes(letter.attributes),
    );
    return { messageId: MessageId, sentAt, ...letter };
  }

  list(queue: string): DeadLetter[] {
    if (!this.#sqs.hasQueue(queue)) return [];
    return this.#sqs.messages(queue).flatMap((message) => {
      const body = eventOf(message.body);
      const attributes = attributesOf(message.messageAttributes);
      if (!body || !attributes) return [];
      return [
        { messageId: message.messageId, sentAt: new Date(message.sentAt).toISOString(), body, attributes },
      ];
    });
  }

  count(queue: string): number {
    return this.#sqs.hasQueue(queue) ? this.#sqs.messages(queue).length : 0;
  }

  queues(): string[] {
    return [...new Set([...this.#known, ...this.#sqs.deadLetterQueueNames()])]
      .filter((queue) => this.#sqs.hasQueue(queue))
      .sort();
  }

  remove(queue: string, messageIds: ReadonlySet<string>): void {
    if (this.#sqs.hasQueue(queue)) this.#sqs.deleteMessages(queue, messageIds);
  }

  #mirror(queue: string): void {
    if (!this.#mirrorDir) return;
    const file = join(this.#mirrorDir, `${queue}.jsonl`);
    const letters = this.list(queue);
    if (letters.length === 0 && this.count(queue) === 0) {
      rmSync(file, { force: true });
      return;
    }
    writeFileSync(file, letters.map((letter) => `${JSON.stringify(letter)}\n`).join(''));
  }
}
