import type { BusEvent } from './bus-event.ts';

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

/**
 * Where EventBridge sends what it gave up on: SQS dead-letter queues, by name. A port, so that
 * the local cloud puts dead letters in its real (local) SQS queues, which `aws sqs receive-message`
 * reads as on AWS, and the redrive reads them back from there.
 */
export interface DeadLetterQueues {
  /**
   * Sends a dead letter; throws when the queue does not exist (EventBridge then drops the event
   * and counts `InvocationsFailedToBeSentToDlq`).
   */
  send(queue: string, letter: Omit<DeadLetter, 'messageId' | 'sentAt'>): DeadLetter;
  /** The dead letters waiting in a queue, oldest first (messages of other shapes left out). */
  list(queue: string): DeadLetter[];
  /** How many messages wait in a queue, whatever their shape. */
  count(queue: string): number;
  /** The dead-letter queues there are. */
  queues(): string[];
  /** Removes the given messages (after a successful redrive). */
  remove(queue: string, messageIds: ReadonlySet<string>): void;
}

/** The queue name of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`) or a plain name. */
export const queueNameOf = (arnOrName: string): string => arnOrName.slice(arnOrName.lastIndexOf(':') + 1);
