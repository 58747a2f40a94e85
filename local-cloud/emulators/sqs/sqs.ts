import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsError } from '../shared/aws-protocol.ts';
import { Journal } from '../shared/journal.ts';

/**
 * A local SQS (standard queues) for the JSON protocol SDK v3 speaks (`X-Amz-Target: AmazonSQS.*`,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/Welcome.html): queues,
 * messages with attributes, visibility timeouts, long polling, receive counts and the redrive
 * policy that moves a message to its dead-letter queue after `maxReceiveCount` receives.
 *
 * Durable as SQS is: every message is journaled (`journal/sqs.jsonl`, synchronous writes) before
 * SendMessage answers, and again when a receive changes it, so a process killed at any moment
 * loses none; the queues' definitions are in `sqs/queues.json`. Message move tasks are journaled
 * beside the messages, each message moved in the same write as the task's count, so a task killed
 * mid-way resumes after a restart and moves every message exactly once. In memory without a data
 * directory.
 */

export interface LocalSqsOptions {
  readonly region: string;
  readonly accountId: string;
  readonly dataDir?: string;
  /** Where queue URLs point: the edge's URL, known once it listens. */
  readonly publicUrl: () => string;
}

const QueueDefinition = z.object({
  name: z.string(),
  attributes: z.record(z.string(), z.string()),
  createdAt: z.number(),
});
type QueueDefinition = z.infer<typeof QueueDefinition>;

/**
 * A message attribute as SendMessage takes it. Built once: zod compiles an object schema on its
 * first parse, which costs more than the parse, and one built per attribute was paid per message.
 */
const MessageAttribute = z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
});

const StoredMessage = z.object({
  queue: z.string(),
  messageId: z.string(),
  body: z.string(),
  messageAttributes: z.record(z.string(), MessageAttribute),
  sentAt: z.number(),
  receiveCount: z.number().int().nonnegative(),
  firstReceivedAt: z.number().optional(),
  /** When it can be received (again): after its delay or its visibility timeout. */
  visibleAt: z.number(),
  receiptHandle: z.string().optional(),
  /** The queue whose redrive policy moved it here: where a move task without destination sends it back. */
  deadLetteredFrom: z.string().optional(),
});
type StoredMessage = z.infer<typeof StoredMessage>;
type MessageAttributes = StoredMessage['messageAttributes'];

/** https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html */
const DEFAULT_ATTRIBUTES = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  MaximumMessageSize: '262144',
};
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH = 10;
const MAX_MESSAGE_BYTES = 262_144;
const POLL_MS = 50;

const sqsError = (type: string, message: string, status = 400) =>
  new AwsError(`com.amazonaws.sqs#${type}`, message, status);
const noQueue = () => sqsError('QueueDoesNotExist', 'The specified queue does not exist.');

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/**
 * The MD5 of message attributes as SQS computes it, which the SDK checks: for each attribute by
 * name, length-prefixed name, type and value, with a transport byte (1 text, 2 binary)
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation).
 */
export const md5OfMessageAttributes = (attributes: MessageAttributes): string => {
  const parts: Buffer[] = [];
  const prefixed = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    parts.push(length, data);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name];
    if (!attribute) continue;
    prefixed(Buffer.from(name));
    prefixed(Buffer.from(attribute.DataType));
    const binary = attribute.BinaryValue !== undefined;
    parts.push(Buffer.from([binary ? 2 : 1]));
    prefixed(
      binary ? Buffer.from(attribute.BinaryValue ?? '', 'base64') : Buffer.from(attribute.StringValue ?? ''),
    );
  }
  return md5(Buffer.concat(parts));
};

const readAttributes = (value: unknown): MessageAttributes => {
  if (typeof value !== 'object' || value === null) return {};
  const attributes: MessageAttributes = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const parsed = MessageAttribute.safeParse(raw);
    if (!parsed.success)
      throw sqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain a non-empty message attribute type.`,
      );
    attributes[name] = parsed.data;
  }
  return attributes;
};

/** The redrive policy of a queue (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html). */
const RedrivePolicy = z.object({
  deadLetterTargetArn: z.string(),
  maxReceiveCount: z.coerce.number().int().min(1).max(1000),
});

/**
 * A message move task (StartMessageMoveTask), journaled with the messages it moves: its status as
 * ListMessageMoveTasks reports it
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
 */
const MoveTask = z.object({
  id: z.string(),
  sourceQueue: z.string(),
  sourceArn: z.string(),
  destinationArn: z.string().optional(),
  ratePerSecond: z.number().int().positive().optional(),
  startedAt: z.number(),
  toMove: z.number().int().nonnegative(),
  moved: z.number().int().nonnegative(),
  status: z.enum(['RUNNING', 'COMPLETED', 'CANCELLING', 'CANCELLED', 'FAILED']),
  failureReason: z.string().optional(),
});
type MoveTask = z.infer<typeof MoveTask>;

/** What the journal holds: messages by message id, move tasks by {@link moveTaskKey}. */
const Journaled = z.union([StoredMessage, MoveTask]);
type Journaled = z.infer<typeof Journaled>;
const moveTaskKey = (taskId: string) => `move-task:${taskId}`;
const isMoveTask = (value: Journaled): value is MoveTask => 'status' in value;
/** ListMessageMoveTasks answers at most this many tasks per source queue: older ones are forgotten. */
const KEPT_MOVE_TASKS = 10;

const MAX_MOVE_RATE = 500;
/** How many messages a move task without a rate moves per turn of the event loop. */
const UNLIMITED_MOVE_BATCH = 100;

const TaskHandle = z.object({ taskId: z.string(), sourceArn: z.string() });
/** The handle that cancels a task: what identifies it, so it stays valid across a restart. */
const taskHandleOf = (task: Pick<MoveTask, 'id' | 'sourceArn'>) =>
  Buffer.from(JSON.stringify({ taskId: task.id, sourceArn: task.sourceArn })).toString('base64');
const invalidTaskHandle = () =>
  sqsError('InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
const missingResource = (parameter: 'SourceArn' | 'DestinationArn') =>
  sqsError(
    'ResourceNotFoundException',
    `The resource that you specified for the ${parameter} parameter doesn't exist.`,
    404,
  );

export class LocalSqs {
  readonly #options: LocalSqsOptions;
  readonly #queues = new Map<string, QueueDefinition>();
  readonly #messages = new Map<string, StoredMessage>();
  readonly #journal: Journal<Journaled>;
  readonly #definitions: string | undefined;
  readonly #listeners = new Set<(queueName: string) => void>();
  /** Move tasks by source queue name, newest first. */
  readonly #moveTasks = new Map<string, MoveTask[]>();
  #closed = false;

  constructor(options: LocalSqsOptions) {
    this.#options = options;
    const dir = options.dataDir && join(options.dataDir, 'sqs');
    const journalDir = options.dataDir && join(options.dataDir, 'journal');
    for (const d of [dir, journalDir]) if (d) mkdirSync(d, { recursive: true });
    this.#definitions = dir && join(dir, 'queues.json');
    if (this.#definitions && existsSync(this.#definitions)) {
      for (const queue of z.array(QueueDefinition).parse(JSON.parse(readFileSync(this.#definitions, 'utf8'))))
        this.#queues.set(queue.name, queue);
    }
    this.#journal = new Journal({
      decode: (value) => Journaled.parse(value),
      ...(journalDir ? { file: join(journalDir, 'sqs.jsonl') } : {}),
    });
    const tasks: MoveTask[] = [];
    for (const { id, value } of this.#journal.recovered()) {
      if (isMoveTask(value)) tasks.push(value);
      else this.#messages.set(id, value);
    }
    for (const task of tasks.sort((a, b) => b.startedAt - a.startedAt)) this.#resumeMoveTask(task);
  }

  /**
   * A task the previous process left: one running goes on where it stopped (the messages it moved
   * are in their destination, its count with them), one being cancelled is cancelled.
   */
  #resumeMoveTask(task: MoveTask): void {
    this.#moveTasks.set(task.sourceQueue, [...(this.#moveTasks.get(task.sourceQueue) ?? []), task]);
    if (task.status === 'CANCELLING') this.#putTask(task, { status: 'CANCELLED' });
    if (task.status === 'RUNNING' && this.#queues.has(task.sourceQueue))
      void this.#runMoveTask(task.sourceQueue, task);
  }

  #putTask(task: MoveTask, change: Partial<MoveTask>): void {
    Object.assign(task, change);
    this.#journal.put(moveTaskKey(task.id), task);
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.#options.region}:${this.#options.accountId}:${name}`;
  }

  queueUrl(name: string): string {
    return `${this.#options.publicUrl()}/${this.#options.accountId}/${name}`;
  }

  /**
   * Calls `listener` with a queue's name after its messages changed (sent, moved, deleted, purged),
   * so a readable mirror of some queues can follow them. Answers a function that stops it.
   */
  onChange(listener: (queueName: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(...queueNames: string[]): void {
    for (const name of queueNames) for (const listener of this.#listeners) listener(name);
  }

  hasQueue(name: string): boolean {
    return this.#queues.has(name);
  }

  /** The queues whose redrive policy names this one as their dead-letter queue. */
  sourcesOf(deadLetterQueueName: string): string[] {
    const arn = this.queueArn(deadLetterQueueName);
    return [...this.#queues.values()]
      .filter((queue) => this.#deadLetterTargetOf(queue) === arn)
      .map((queue) => queue.name)
      .sort();
  }

  /** Every queue some queue's redrive policy names as its dead-letter queue. */
  deadLetterQueueNames(): string[] {
    return [
      ...new Set(
        [...this.#queues.values()].flatMap((queue) => {
          const target = this.#deadLetterTargetOf(queue);
          const name = target?.slice(target.lastIndexOf(':') + 1);
          return name && this.#queues.has(name) ? [name] : [];
        }),
      ),
    ].sort();
  }

  #deadLetterTargetOf(queue: QueueDefinition): string | undefined {
    const policy = queue.attributes.RedrivePolicy;
    return policy ? this.#redrivePolicy(policy).deadLetterTargetArn : undefined;
  }

  /** Deletes messages by id, whatever their receipt (a redrive that handed them back to their target). */
  deleteMessages(queueName: string, messageIds: ReadonlySet<string>): void {
    for (const id of messageIds) {
      if (this.#messages.get(id)?.queue !== queueName) continue;
      this.#messages.delete(id);
      this.#journal.done(id);
    }
    this.#changed(queueName);
  }

  #save(): void {
    if (this.#definitions)
      writeFileSync(this.#definitions, JSON.stringify([...this.#queues.values()], null, 2));
  }

  /** The queue a URL (any host: SQS's own, the edge's) or an ARN names. */
  #queueOf(urlOrArn: unknown): QueueDefinition {
    const text = String(urlOrArn ?? '');
    const name = text.slice(Math.max(text.lastIndexOf('/'), text.lastIndexOf(':')) + 1);
    const queue = this.#queues.get(name);
    if (!queue) throw noQueue();
    return queue;
  }

  /** Creates a queue unless it exists (idempotent for the same attributes), as CreateQueue does. */
  createQueue(name: string, attributes: Record<string, string> = {}): string {
    if (!QUEUE_NAME.test(name)) {
      throw sqsError(
        'InvalidParameterValue',
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    if (attributes.RedrivePolicy !== undefined) this.#redrivePolicy(attributes.RedrivePolicy);
    const existing = this.#queues.get(name);
    if (existing) {
      for (const [key, value] of Object.entries(attributes)) {
        if (
          (existing.attributes[key] ?? DEFAULT_ATTRIBUTES[key as keyof typeof DEFAULT_ATTRIBUTES]) !== value
        )
          throw sqsError(
            'QueueAlreadyExists',
            `A queue already exists with the same name and a different value for attribute ${key}`,
          );
      }
      return this.queueUrl(name);
    }
    this.#queues.set(name, {
      name,
      attributes: { ...DEFAULT_ATTRIBUTES, ...attributes },
      createdAt: Date.now(),
    });
    this.#save();
    return this.queueUrl(name);
  }

  #redrivePolicy(text: string) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw sqsError(
        'InvalidAttributeValue',
        'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.',
      );
    }
    const policy = RedrivePolicy.safeParse(parsed);
    if (!policy.success)
      throw sqsError(
        'InvalidAttributeValue',
        `Value ${text} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn or maxReceiveCount.`,
      );
    return policy.data;
  }

  /** Sends a message to a queue by name, as a rule target or a workflow's `sqs:sendMessage` does. */
  send(queueName: string, body: string, messageAttributes: MessageAttributes = {}, delaySeconds?: number) {
    const queue = this.#queues.get(queueName);
    if (!queue) throw noQueue();
    return this.#send(queue, body, messageAttributes, delaySeconds);
  }

  #send(queue: QueueDefinition, body: unknown, messageAttributes: MessageAttributes, delaySeconds?: number) {
    if (typeof body !== 'string' || body === '')
      throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > Number(queue.attributes.MaximumMessageSize ?? MAX_MESSAGE_BYTES)) {
      throw sqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.attributes.MaximumMessageSize} bytes.`,
      );
    }
    const now = Date.now();
    const delay = delaySeconds ?? Number(queue.attributes.DelaySeconds ?? 0);
    const message: StoredMessage = {
      queue: queue.name,
      messageId: randomUUID(),
      body,
      messageAttributes,
      sentAt: now,
      receiveCount: 0,
      visibleAt: now + delay * 1000,
    };
    this.#journal.put(message.messageId, message);
    this.#messages.set(message.messageId, message);
    this.#changed(queue.name);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: md5(body),
      ...(Object.keys(messageAttributes).length > 0
        ? { MD5OfMessageAttributes: md5OfMessageAttributes(messageAttributes) }
        : {}),
    };
  }

  /** Messages of a queue now, in the order they were sent (for `/health` and the CLI). */
  messages(queueName: string): readonly StoredMessage[] {
    return [...this.#messages.values()]
      .filter((m) => m.queue === queueName)
      .sort((a, b) => a.sentAt - b.sentAt);
  }

  queueNames(): string[] {
    return [...this.#queues.keys()].sort();
  }

  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'CreateQueue':
        return {
          QueueUrl: this.createQueue(
            String(input.QueueName ?? ''),
            (input.Attributes ?? {}) as Record<string, string>,
          ),
        };
      case 'GetQueueUrl': {
        const queue = this.#queues.get(String(input.QueueName ?? ''));
        if (!queue) throw noQueue();
        return { QueueUrl: this.queueUrl(queue.name) };
      }
      case 'ListQueues': {
        const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
        return {
          QueueUrls: this.queueNames()
            .filter((n) => n.startsWith(prefix))
            .map((n) => this.queueUrl(n)),
        };
      }
      case 'DeleteQueue': {
        const queue = this.#queueOf(input.QueueUrl);
        this.#purge(queue.name);
        this.#queues.delete(queue.name);
        this.#save();
        return {};
      }
      case 'PurgeQueue':
        this.#purge(this.#queueOf(input.QueueUrl).name);
        return {};
      case 'GetQueueAttributes':
        return { Attributes: this.#attributes(this.#queueOf(input.QueueUrl), input.AttributeNames) };
      case 'SetQueueAttributes': {
        const queue = this.#queueOf(input.QueueUrl);
        const attributes = (input.Attributes ?? {}) as Record<string, string>;
        if (attributes.RedrivePolicy !== undefined) this.#redrivePolicy(attributes.RedrivePolicy);
        Object.assign(queue.attributes, attributes);
        this.#save();
        return {};
      }
      case 'SendMessage':
        return this.#send(
          this.#queueOf(input.QueueUrl),
          input.MessageBody,
          readAttributes(input.MessageAttributes),
          typeof input.DelaySeconds === 'number' ? input.DelaySeconds : undefined,
        );
      case 'SendMessageBatch':
        return this.#batch(input, (queue, entry) => ({
          Id: entry.Id,
          ...this.#send(
            queue,
            entry.MessageBody,
            readAttributes(entry.MessageAttributes),
            typeof entry.DelaySeconds === 'number' ? entry.DelaySeconds : undefined,
          ),
        }));
      case 'ReceiveMessage':
        return this.#receive(this.#queueOf(input.QueueUrl), input);
      case 'DeleteMessage':
        this.#delete(this.#queueOf(input.QueueUrl), input.ReceiptHandle);
        return {};
      case 'DeleteMessageBatch':
        return this.#batch(input, (queue, entry) => {
          this.#delete(queue, entry.ReceiptHandle);
          return { Id: entry.Id };
        });
      case 'ListDeadLetterSourceQueues':
        return { queueUrls: this.sourcesOf(this.#queueOf(input.QueueUrl).name).map((n) => this.queueUrl(n)) };
      case 'StartMessageMoveTask':
        return { TaskHandle: taskHandleOf(this.startMessageMoveTask(input)) };
      case 'ListMessageMoveTasks':
        return { Results: this.#listMoveTasks(input) };
      case 'CancelMessageMoveTask':
        return this.#cancelMoveTask(input.TaskHandle);
      case 'ChangeMessageVisibility': {
        const message = this.#byReceipt(this.#queueOf(input.QueueUrl), input.ReceiptHandle);
        message.visibleAt = Date.now() + Number(input.VisibilityTimeout ?? 0) * 1000;
        this.#journal.put(message.messageId, message);
        return {};
      }
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local SQS`,
        );
    }
  }

  #purge(queueName: string): void {
    for (const message of this.messages(queueName)) {
      this.#messages.delete(message.messageId);
      this.#journal.done(message.messageId);
    }
    this.#changed(queueName);
  }

  #attributes(queue: QueueDefinition, names: unknown): Record<string, string> {
    const now = Date.now();
    const messages = this.messages(queue.name);
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: this.queueArn(queue.name),
      ApproximateNumberOfMessages: String(messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(
        messages.filter((m) => m.receiveCount > 0 && m.visibleAt > now).length,
      ),
      ApproximateNumberOfMessagesDelayed: String(
        messages.filter((m) => m.receiveCount === 0 && m.visibleAt > now).length,
      ),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    };
    const wanted = Array.isArray(names) ? names.map(String) : [];
    if (wanted.includes('All')) return all;
    return Object.fromEntries(Object.entries(all).filter(([name]) => wanted.includes(name)));
  }

  #batch(
    input: Record<string, unknown>,
    each: (queue: QueueDefinition, entry: Record<string, unknown>) => Record<string, unknown>,
  ) {
    const queue = this.#queueOf(input.QueueUrl);
    const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
    if (entries.length === 0)
      throw sqsError(
        'EmptyBatchRequest',
        'There should be at least one SendMessageBatchRequestEntry in the request.',
      );
    if (entries.length > MAX_BATCH)
      throw sqsError(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH}. You have sent ${entries.length}.`,
      );
    if (new Set(entries.map((entry) => entry.Id)).size < entries.length)
      throw sqsError('BatchEntryIdsNotDistinct', 'Id values must be unique within a batch request.');
    const successful: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        successful.push(each(queue, entry));
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        failed.push({
          Id: entry.Id,
          SenderFault: true,
          Code: error.type.split('#').pop(),
          Message: error.message,
        });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  #byReceipt(queue: QueueDefinition, receipt: unknown): StoredMessage {
    const message = [...this.#messages.values()].find(
      (m) => m.queue === queue.name && m.receiptHandle !== undefined && m.receiptHandle === receipt,
    );
    if (!message)
      throw sqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${String(receipt)}" is not a valid receipt handle.`,
      );
    return message;
  }

  #delete(queue: QueueDefinition, receipt: unknown): void {
    const message = this.#byReceipt(queue, receipt);
    this.#messages.delete(message.messageId);
    this.#journal.done(message.messageId);
    this.#changed(queue.name);
  }

  /**
   * Long-polls up to `WaitTimeSeconds` for visible messages; each received one becomes invisible
   * for the visibility timeout and counts a receive. One received more than the redrive policy's
   * `maxReceiveCount` moves to the dead-letter queue instead.
   */
  async #receive(queue: QueueDefinition, input: Record<string, unknown>) {
    const max = typeof input.MaxNumberOfMessages === 'number' ? input.MaxNumberOfMessages : 1;
    if (max < 1 || max > MAX_BATCH) {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const wait = Number(input.WaitTimeSeconds ?? queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
    const visibility = Number(input.VisibilityTimeout ?? queue.attributes.VisibilityTimeout ?? 30);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const received = this.#take(queue, max, visibility);
      if (received.length > 0 || Date.now() >= deadline) {
        return { Messages: received.map((message) => this.#answer(message, input)) };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  #take(queue: QueueDefinition, max: number, visibility: number): StoredMessage[] {
    const now = Date.now();
    const policy = queue.attributes.RedrivePolicy
      ? this.#redrivePolicy(queue.attributes.RedrivePolicy)
      : undefined;
    const taken: StoredMessage[] = [];
    for (const message of this.messages(queue.name)) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      const deadLetterQueue = policy && this.#queues.get(policy.deadLetterTargetArn.split(':').pop() ?? '');
      if (policy && deadLetterQueue && message.receiveCount >= policy.maxReceiveCount) {
        // Moved, not copied: the dead-letter queue keeps the message id and body, as SQS does.
        const moved = {
          ...message,
          queue: deadLetterQueue.name,
          receiveCount: 0,
          visibleAt: now,
          receiptHandle: undefined,
          deadLetteredFrom: queue.name,
        };
        const { receiptHandle: _, ...journaled } = moved;
        this.#journal.put(moved.messageId, journaled);
        this.#messages.set(moved.messageId, journaled);
        this.#changed(queue.name, deadLetterQueue.name);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibility * 1000;
      message.receiptHandle = Buffer.from(`${message.messageId}:${randomUUID()}`).toString('base64');
      this.#journal.put(message.messageId, message);
      taken.push(message);
    }
    return taken;
  }

  #answer(message: StoredMessage, input: Record<string, unknown>) {
    const names = [...(Array.isArray(input.MessageAttributeNames) ? input.MessageAttributeNames : [])].map(
      String,
    );
    const attributes = Object.fromEntries(
      Object.entries(message.messageAttributes).filter(
        ([name]) => names.includes('All') || names.includes('.*') || names.includes(name),
      ),
    );
    const systemNames = [
      ...(Array.isArray(input.AttributeNames) ? input.AttributeNames : []),
      ...(Array.isArray(input.MessageSystemAttributeNames) ? input.MessageSystemAttributeNames : []),
    ].map(String);
    const system: Record<string, string> = {
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      SenderId: this.#options.accountId,
    };
    const wantedSystem = Object.fromEntries(
      Object.entries(system).filter(([name]) => systemNames.includes('All') || systemNames.includes(name)),
    );
    return {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle,
      MD5OfBody: md5(message.body),
      Body: message.body,
      ...(Object.keys(wantedSystem).length > 0 ? { Attributes: wantedSystem } : {}),
      ...(Object.keys(attributes).length > 0
        ? { MessageAttributes: attributes, MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
        : {}),
    };
  }

  /**
   * Starts moving the messages of a dead-letter queue to `DestinationArn`, or each back to the
   * queue it was dead-lettered from, asynchronously and at most `MaxNumberOfMessagesPerSecond`
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html):
   * only a dead-letter queue of SQS queues, one task at a time per source queue.
   */
  startMessageMoveTask(input: Record<string, unknown>): MoveTask {
    const sourceArn = String(input.SourceArn ?? '');
    const source = this.#queueByArn(sourceArn);
    if (!source) throw missingResource('SourceArn');
    const destinationArn = input.DestinationArn === undefined ? undefined : String(input.DestinationArn);
    if (destinationArn !== undefined && !this.#queueByArn(destinationArn))
      throw missingResource('DestinationArn');
    const rate = input.MaxNumberOfMessagesPerSecond;
    if (
      rate !== undefined &&
      (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > MAX_MOVE_RATE)
    )
      throw sqsError(
        'InvalidParameterValue',
        `Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a number that's between 1 and ${MAX_MOVE_RATE}.`,
      );
    if (this.sourcesOf(source.name).length === 0)
      throw sqsError('InvalidParameterValue', 'Source queue must be configured as a Dead Letter Queue.');
    const tasks = this.#moveTasks.get(source.name) ?? [];
    if (tasks.some((task) => task.status === 'RUNNING' || task.status === 'CANCELLING'))
      throw sqsError(
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    const task: MoveTask = {
      id: randomUUID(),
      sourceQueue: source.name,
      sourceArn,
      ...(destinationArn !== undefined ? { destinationArn } : {}),
      ...(typeof rate === 'number' ? { ratePerSecond: rate } : {}),
      startedAt: Date.now(),
      toMove: this.messages(source.name).length,
      moved: 0,
      status: 'RUNNING',
    };
    this.#putTask(task, {});
    const kept = [task, ...tasks];
    for (const forgotten of kept.splice(KEPT_MOVE_TASKS)) this.#journal.done(moveTaskKey(forgotten.id));
    this.#moveTasks.set(source.name, kept);
    void this.#runMoveTask(source.name, task);
    return task;
  }

  #queueByArn(arn: string): QueueDefinition | undefined {
    const queue = this.#queues.get(arn.slice(arn.lastIndexOf(':') + 1));
    return queue && this.queueArn(queue.name) === arn ? queue : undefined;
  }

  async #runMoveTask(sourceName: string, task: MoveTask): Promise<void> {
    const pause = task.ratePerSecond ? 1000 / task.ratePerSecond : 0;
    const perTurn = task.ratePerSecond ? 1 : UNLIMITED_MOVE_BATCH;
    while (task.status === 'RUNNING' && task.moved < task.toMove && !this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (task.status !== 'RUNNING' || this.#closed) break;
      const now = Date.now();
      const batch = this.messages(sourceName)
        .filter((message) => message.visibleAt <= now)
        .slice(0, Math.min(perTurn, task.toMove - task.moved));
      if (batch.length === 0) break;
      const moves: StoredMessage[] = [];
      for (const message of batch) {
        const destination = task.destinationArn
          ? this.#queueByArn(task.destinationArn)
          : this.#queues.get(message.deadLetteredFrom ?? this.sourcesOf(sourceName)[0] ?? '');
        if (!destination) {
          this.#moveAll(task, moves);
          this.#putTask(task, { status: 'FAILED', failureReason: 'AWS.SimpleQueueService.NonExistentQueue' });
          return;
        }
        const { receiptHandle: _, deadLetteredFrom: __, ...rest } = message;
        moves.push({ ...rest, queue: destination.name, receiveCount: 0, visibleAt: now });
      }
      this.#moveAll(task, moves);
    }
    if (this.#closed) return; // still RUNNING in the journal: the next process resumes it
    if (task.status === 'RUNNING') this.#putTask(task, { status: 'COMPLETED' });
    else if (task.status === 'CANCELLING') this.#putTask(task, { status: 'CANCELLED' });
  }

  /**
   * Moves messages and counts them in the task with one journal write: a process killed at any
   * moment has moved each message and counted it, or neither, so the resumed task moves the rest once.
   */
  #moveAll(task: MoveTask, moves: readonly StoredMessage[]): void {
    if (moves.length === 0) return;
    const counted = { ...task, moved: task.moved + moves.length };
    this.#journal.putAll([
      ...moves.map((message) => ({ id: message.messageId, value: message })),
      { id: moveTaskKey(task.id), value: counted },
    ]);
    task.moved = counted.moved;
    for (const message of moves) {
      const from = this.#messages.get(message.messageId)?.queue;
      this.#messages.set(message.messageId, message);
      this.#changed(...(from ? [from] : []), message.queue);
    }
  }

  /** https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html */
  #listMoveTasks(input: Record<string, unknown>) {
    const source = this.#queueByArn(String(input.SourceArn ?? ''));
    if (!source) throw missingResource('SourceArn');
    const max = input.MaxResults === undefined ? 1 : Number(input.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw sqsError(
        'InvalidParameterValue',
        `Value for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.`,
      );
    return (this.#moveTasks.get(source.name) ?? []).slice(0, max).map((task) => ({
      ...(task.status === 'RUNNING' ? { TaskHandle: taskHandleOf(task) } : {}),
      Status: task.status,
      SourceArn: task.sourceArn,
      ...(task.destinationArn ? { DestinationArn: task.destinationArn } : {}),
      ...(task.ratePerSecond ? { MaxNumberOfMessagesPerSecond: task.ratePerSecond } : {}),
      ApproximateNumberOfMessagesMoved: task.moved,
      ApproximateNumberOfMessagesToMove: task.toMove,
      ...(task.failureReason ? { FailureReason: task.failureReason } : {}),
      StartedTimestamp: task.startedAt,
    }));
  }

  /** https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html */
  #cancelMoveTask(handle: unknown) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(String(handle ?? ''), 'base64').toString('utf8'));
    } catch {
      throw invalidTaskHandle();
    }
    const parsed = TaskHandle.safeParse(decoded);
    if (!parsed.success) throw invalidTaskHandle();
    const source = this.#queueByArn(parsed.data.sourceArn);
    if (!source) throw missingResource('SourceArn');
    const task = this.#moveTasks.get(source.name)?.find((t) => t.id === parsed.data.taskId);
    if (task?.status !== 'RUNNING') throw sqsError('ResourceNotFoundException', 'Task does not exist.', 404);
    this.#putTask(task, { status: 'CANCELLING' });
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  close(): void {
    this.#closed = true;
    this.#journal.close();
  }
}
