import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { JacksonParseError, parseJsonAsJackson } from '../shared/jackson-json.ts';
import { Journal } from '../shared/journal.ts';
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_RETRY_DELAYS_MS,
  type DeadLetter,
  DeadLetters,
  type DeliveryOutcome,
  postWithRetries,
} from './delivery.ts';
import {
  type CompiledFilterPolicy,
  compileFilterPolicy,
  type FilterPolicyScope,
  InvalidFilterPolicyError,
  type SnsMessageAttribute,
} from './filter-policy.ts';
import { DEFAULT_SENDER_NAME, type DeliveredMail, Mailbox } from './mailbox.ts';
import {
  CONFIRMATION_EMAIL_SUBJECT,
  confirmationEmailBody,
  DEFAULT_EMAIL_SUBJECT,
  notificationEmailBody,
  notificationEnvelope,
  subscribeUrl,
  subscriptionConfirmationEnvelope,
  unsubscribeConfirmationEnvelope,
  unsubscribeUrl,
} from './messages.ts';
import {
  attributeBytes,
  element,
  entries,
  errorAnswer,
  invalidParameter,
  members,
  missingMember,
  notFound,
  type QueryAnswer,
  readBatchEntries,
  readMap,
  readMessageAttributes,
  resultAnswer,
  SnsError,
  textElement,
  validateMessageAttributes,
} from './query-protocol.ts';
import { type DeliveredSms, PHONE_NUMBER, SmsOutbox } from './sms.ts';

export type { DeadLetter } from './delivery.ts';
export type { DeliveredMail } from './mailbox.ts';
export type { QueryAnswer } from './query-protocol.ts';

export interface LocalSnsOptions {
  readonly region: string;
  readonly accountId: string;
  /**
   * Mail goes to `<dataDir>/mail/*.eml`, failed deliveries to `<dataDir>/dlq/sns-<topic>.jsonl`, topics
   * and subscriptions to `<dataDir>/sns/state.json` (so a restart keeps them), and the notifications
   * Publish accepted and not yet delivered to `<dataDir>/journal/sns.jsonl`; all in memory when absent.
   */
  readonly dataDir?: string;
  /** The edge's base URL, which SubscribeURL and UnsubscribeURL links point at. */
  readonly publicUrl: () => string;
  /** Topic names created at start. */
  readonly topics: readonly string[];
  /** Delays before each HTTP/S retry; {@link DEFAULT_RETRY_DELAYS_MS} when absent. */
  readonly retryDelaysMs?: readonly number[];
  /** How long one HTTP/S attempt may take; 15 s, as on AWS, when absent. */
  readonly deliveryTimeoutMs?: number;
  /**
   * Sends a message to an SQS queue by ARN: where a subscription's RedrivePolicy puts a message it
   * could not deliver. Without it, such a message is only recorded as a dead letter.
   */
  readonly sendToQueue?: (
    queueArn: string,
    body: string,
    attributes: Record<string, { DataType: string; StringValue: string }>,
  ) => void;
}

/** The Query actions the local SNS answers; the edge routes a form-encoded `Action` among these here. */
export const SNS_ACTIONS: ReadonlySet<string> = new Set([
  'CreateTopic',
  'ListTopics',
  'Publish',
  'PublishBatch',
  'Subscribe',
  'ConfirmSubscription',
  'Unsubscribe',
  'ListSubscriptions',
  'ListSubscriptionsByTopic',
  'GetSubscriptionAttributes',
  'SetSubscriptionAttributes',
]);

/** Every protocol SNS accepts (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html). */
const AWS_PROTOCOLS: ReadonlySet<string> = new Set([
  'http',
  'https',
  'email',
  'email-json',
  'sms',
  'sqs',
  'application',
  'lambda',
  'firehose',
]);
/** The protocols the local SNS delivers to. */
const PROTOCOLS = ['email', 'email-json', 'http', 'https', 'sms'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const isProtocol = (value: string): value is Protocol => (PROTOCOLS as readonly string[]).includes(value);
const isEmail = (protocol: Protocol) => protocol === 'email' || protocol === 'email-json';

const SCOPES = ['MessageAttributes', 'MessageBody'] as const;
const isScope = (value: string): value is FilterPolicyScope => (SCOPES as readonly string[]).includes(value);

/** https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (standard topics). */
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
/** An address that is safe to put in a `To:` header: no spaces, no line breaks, one `@`. */
const EMAIL_ADDRESS = /^[^\s@"<>,;]+@[^\s@"<>,;.]+(\.[^\s@"<>,;.]+)*$/;
/** https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
const MAX_MESSAGE_BYTES = 256 * 1024;
/** Printable ASCII, not starting with a space, at most 100 characters (API_Publish `Subject`). */
const SUBJECT = /^[\x21-\x7e][\x20-\x7e]{0,99}$/;
const PAGE_SIZE = 100;
/** https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html */
const MAX_BATCH_ENTRIES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]*$/;
const MAX_BATCH_ENTRY_ID_LENGTH = 80;

const Subscription = z.object({
  arn: z.string(),
  topicArn: z.string(),
  protocol: z.enum(PROTOCOLS),
  endpoint: z.string(),
  pending: z.boolean(),
  authenticated: z.boolean(),
  token: z.string(),
  filterPolicy: z.string().optional(),
  filterPolicyScope: z.enum(SCOPES),
  rawMessageDelivery: z.boolean(),
  redrivePolicy: z.string().optional(),
});
type Subscription = z.infer<typeof Subscription>;

const Topic = z.object({ name: z.string(), arn: z.string(), attributes: z.record(z.string(), z.string()) });
type Topic = z.infer<typeof Topic>;

/** A token answers ConfirmSubscription; an UnsubscribeConfirmation's token restores what it removed. */
const TokenEntry = z.object({
  topicArn: z.string(),
  subscriptionArn: z.string(),
  restore: Subscription.optional(),
});
type TokenEntry = z.infer<typeof TokenEntry>;

const PersistedState = z.object({
  version: z.literal(1),
  topics: z.array(Topic),
  subscriptions: z.array(Subscription),
  tokens: z.record(z.string(), TokenEntry),
});

/** A message attribute as the journal keeps it: binary values in base64. */
const JournaledAttribute = z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
});

/** A notification Publish accepted for one subscription, journaled until delivered or dead-lettered. */
const PendingNotification = z.object({
  subscriptionArn: z.string(),
  published: z.object({
    messageId: z.string(),
    topicArn: z.string(),
    subject: z.string().optional(),
    message: z.string(),
    structured: z.record(z.string(), z.string()).optional(),
    attributes: z.record(z.string(), JournaledAttribute),
    timestamp: z.string(),
  }),
  /** HTTP/S attempts already made, and the last one's error, so the retry policy carries on after a restart. */
  attempts: z.number().int().nonnegative(),
  error: z.string().optional(),
});
type PendingNotification = z.infer<typeof PendingNotification>;

const journaledPublished = (published: Published): PendingNotification['published'] => ({
  messageId: published.messageId,
  topicArn: published.topic.arn,
  ...(published.subject !== undefined ? { subject: published.subject } : {}),
  message: published.message,
  ...(published.structured ? { structured: { ...published.structured } } : {}),
  attributes: Object.fromEntries(
    Object.entries(published.attributes).map(([name, { DataType, StringValue, BinaryValue }]) => [
      name,
      {
        DataType,
        ...(StringValue !== undefined ? { StringValue } : {}),
        ...(BinaryValue !== undefined ? { BinaryValue: Buffer.from(BinaryValue).toString('base64') } : {}),
      },
    ]),
  ),
  timestamp: published.timestamp,
});

/** A Publish call, once validated. */
interface Published {
  readonly messageId: string;
  readonly topic: Topic;
  readonly subject: string | undefined;
  readonly message: string;
  /** With MessageStructure=json: the message per protocol key, `default` included. */
  readonly structured: Readonly<Record<string, string>> | undefined;
  readonly attributes: Readonly<Record<string, SnsMessageAttribute>>;
  readonly timestamp: string;
}

const newToken = () => randomBytes(64).toString('hex');

const encodePageToken = (offset: number) => Buffer.from(String(offset)).toString('base64url');

/**
 * The local SNS: standard topics, email, email-json and HTTP/S subscriptions with filter policies, and
 * asynchronous delivery with SNS's message formats, headers, retries and confirmation handshake.
 *
 * One deliberate difference: email subscriptions are confirmed at once, after the confirmation email
 * has been written to the mail folder, because nobody reads a local inbox before the demo should work.
 * HTTP/S subscriptions stay `PendingConfirmation` until the endpoint visits the SubscribeURL or calls
 * ConfirmSubscription, as on AWS.
 *
 * @see https://docs.aws.amazon.com/sns/latest/api/welcome.html
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html
 */
export class LocalSns {
  readonly #options: LocalSnsOptions;
  readonly #retryDelaysMs: readonly number[];
  readonly #topics = new Map<string, Topic>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #filters = new Map<string, CompiledFilterPolicy>();
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #mailbox: Mailbox;
  readonly #sms: SmsOutbox;
  readonly #deadLetters: DeadLetters;
  readonly #stateFile: string | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  readonly #journal: Journal<PendingNotification>;

  constructor(options: LocalSnsOptions) {
    this.#options = options;
    this.#retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const { dataDir } = options;
    this.#mailbox = new Mailbox(dataDir && join(dataDir, 'mail'));
    this.#sms = new SmsOutbox(dataDir && join(dataDir, 'sms'));
    this.#deadLetters = new DeadLetters(dataDir && join(dataDir, 'dlq'));
    if (dataDir) {
      mkdirSync(join(dataDir, 'sns'), { recursive: true });
      mkdirSync(join(dataDir, 'journal'), { recursive: true });
      this.#stateFile = join(dataDir, 'sns', 'state.json');
      this.#load(this.#stateFile);
    }
    this.#journal = new Journal({
      decode: (value) => PendingNotification.parse(value),
      ...(dataDir ? { file: join(dataDir, 'journal', 'sns.jsonl') } : {}),
    });
    for (const name of options.topics) {
      if (!TOPIC_NAME.test(name)) throw new Error(`Invalid SNS topic name given to the local SNS: ${name}`);
      const arn = this.topicArn(name);
      if (!this.#topics.has(arn)) this.#topics.set(arn, { name, arn, attributes: {} });
    }
    this.#save();
  }

  /** The ARN AWS would give a topic of this name in this region and account. */
  topicArn(name: string): string {
    return `arn:aws:sns:${this.#options.region}:${this.#options.accountId}:${name}`;
  }

  /**
   * Handles one Query-protocol request: the form-encoded body of a POST, or the query of a GET (which is
   * how an endpoint follows a SubscribeURL or UnsubscribeURL link). Returns what the edge writes back.
   */
  async handle(params: URLSearchParams): Promise<QueryAnswer> {
    const action = params.get('Action') ?? '';
    const requestId = randomUUID();
    try {
      return resultAnswer(action, requestId, await this.#run(action, params));
    } catch (error) {
      if (error instanceof SnsError) return errorAnswer(error, requestId);
      console.error(`local SNS: ${action} failed`, error);
      return errorAnswer(
        new SnsError('InternalError', 'The local SNS could not process the request.', 500, 'Receiver'),
        requestId,
      );
    }
  }

  /** Text messages sent so far (to `sms` subscriptions and phone numbers), oldest first. */
  sms(): readonly DeliveredSms[] {
    return this.#sms.list();
  }

  /** Emails delivered so far (for tests and the dashboard), newest last. */
  mail(): readonly DeliveredMail[] {
    return this.#mailbox.list();
  }

  /** Deliveries given up since start, oldest first; also in `<dataDir>/dlq/sns-<topic>.jsonl`. */
  deadLetters(): readonly DeadLetter[] {
    return this.#deadLetters.list();
  }

  /** Resolves once no delivery is under way, including retries waiting for their turn. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /**
   * Waits for in-flight deliveries and stops retries. A notification whose retries were stopped stays
   * journaled for the next start; without a data directory, it is recorded as a dead letter instead.
   */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.idle();
    this.#journal.close();
  }

  /**
   * Delivers the notifications a previous run accepted and did not finish, however it ended (SIGKILL
   * included), carrying on with each one's retry policy. Call once the public URL answers.
   */
  resumeDeliveries(): number {
    let resumed = 0;
    for (const { id, value } of this.#journal.recovered()) {
      const subscription = this.#subscriptions.get(value.subscriptionArn);
      const topic = this.#topics.get(value.published.topicArn);
      if (!subscription || !topic) {
        this.#journal.done(id); // unsubscribed or deleted since: SNS delivers nothing more
        continue;
      }
      const { attributes, ...rest } = value.published;
      const published: Published = {
        ...rest,
        subject: rest.subject,
        structured: rest.structured,
        topic,
        attributes: Object.fromEntries(
          Object.entries(attributes).map(([name, { DataType, StringValue, BinaryValue }]) => [
            name,
            {
              DataType,
              ...(StringValue !== undefined ? { StringValue } : {}),
              ...(BinaryValue !== undefined ? { BinaryValue: Buffer.from(BinaryValue, 'base64') } : {}),
            },
          ]),
        ),
      };
      this.#track(
        this.#deliver(subscription, published, messageFor(published, subscription.protocol), {
          id,
          pending: value,
        }),
      );
      resumed++;
    }
    return resumed;
  }

  #run(action: string, params: URLSearchParams): Promise<string | undefined> | string | undefined {
    switch (action) {
      case 'CreateTopic':
        return this.#createTopic(params);
      case 'ListTopics':
        return this.#listTopics(params);
      case 'Publish':
        return this.#publish(params);
      case 'PublishBatch':
        return this.#publishBatch(params);
      case 'Subscribe':
        return this.#subscribe(params);
      case 'ConfirmSubscription':
        return this.#confirmSubscription(params);
      case 'Unsubscribe':
        return this.#unsubscribe(params);
      case 'ListSubscriptions':
        return this.#listSubscriptions([...this.#subscriptions.values()], params);
      case 'ListSubscriptionsByTopic':
        return this.#listSubscriptionsByTopic(params);
      case 'GetSubscriptionAttributes':
        return this.#getSubscriptionAttributes(params);
      case 'SetSubscriptionAttributes':
        return this.#setSubscriptionAttributes(params);
      default:
        throw new SnsError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html: idempotent for the same attributes. */
  #createTopic(params: URLSearchParams): string {
    const name = params.get('Name');
    if (name === null) throw missingMember('name');
    const attributes = Object.fromEntries(readMap(params, 'Attributes') ?? []);
    if (attributes.FifoTopic?.toLowerCase() === 'true') {
      throw invalidParameter(
        'Invalid parameter: FifoTopic Reason: the local SNS emulates standard topics only',
      );
    }
    delete attributes.FifoTopic;
    if (!TOPIC_NAME.test(name)) throw invalidParameter('Invalid parameter: Topic Name');
    const arn = this.topicArn(name);
    const existing = this.#topics.get(arn);
    if (existing) {
      if (Object.entries(attributes).some(([key, value]) => existing.attributes[key] !== value)) {
        throw invalidParameter(
          'Invalid parameter: Attributes Reason: Topic already exists with different attributes',
        );
      }
    } else {
      this.#topics.set(arn, { name, arn, attributes });
      this.#save();
    }
    return textElement('TopicArn', arn);
  }

  #listTopics(params: URLSearchParams): string {
    const { page, next } = this.#page([...this.#topics.values()], params);
    return (
      members(
        'Topics',
        page.map((topic) => textElement('TopicArn', topic.arn)),
      ) + (next ? textElement('NextToken', next) : '')
    );
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
  #publish(params: URLSearchParams): string {
    const phoneNumber = params.get('PhoneNumber');
    if (phoneNumber !== null) return textElement('MessageId', this.#publishSms(phoneNumber, params));
    return textElement('MessageId', this.#accept(this.#validatePublish(params)));
  }

  /**
   * Publishes up to ten messages to one topic (https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html).
   * As on AWS, a batch with a bad entry (an invalid message, structure or attribute) is refused
   * whole with that entry's error, so nothing of it is published; the others are answered one by
   * one in `Successful`.
   */
  #publishBatch(params: URLSearchParams): string {
    const topicArn = params.get('TopicArn');
    const batch = readBatchEntries(params, 'PublishBatchRequestEntries');
    if (batch.length === 0) {
      throw new SnsError('EmptyBatchRequest', "The batch request doesn't contain any entries.");
    }
    if (batch.length > MAX_BATCH_ENTRIES) {
      throw new SnsError(
        'TooManyEntriesInBatchRequest',
        'The batch request contains more entries than permissible.',
      );
    }
    for (const entry of batch) {
      const id = entry.get('Id') ?? '';
      if (!BATCH_ENTRY_ID.test(id)) {
        throw new SnsError(
          'InvalidBatchEntryId',
          `The Id of a batch entry in the batch request contains an impermissible character: ${id}`,
        );
      }
      if (id.length > MAX_BATCH_ENTRY_ID_LENGTH) {
        throw new SnsError(
          'InvalidBatchEntryId',
          `The Id of a batch entry in the batch request is too long: ${id}`,
        );
      }
    }
    if (new Set(batch.map((entry) => entry.get('Id'))).size < batch.length) {
      throw new SnsError(
        'BatchEntryIdsNotDistinct',
        'Two or more batch entries in the request have the same Id.',
      );
    }
    const total = batch.reduce(
      (sum, entry) =>
        sum +
        Object.entries(validateMessageAttributes(readMessageAttributes(entry))).reduce(
          (bytes, [name, attribute]) => bytes + attributeBytes(name, attribute),
          Buffer.byteLength(entry.get('Message') ?? ''),
        ),
      0,
    );
    if (total > MAX_MESSAGE_BYTES) {
      throw new SnsError(
        'BatchRequestTooLong',
        'The length of all the messages put together is more than the limit.',
      );
    }
    this.#topicOf(topicArn);
    const validated = batch.map((entry) => {
      if (topicArn !== null) entry.set('TopicArn', topicArn);
      return { id: entry.get('Id') ?? '', published: this.#validatePublish(entry) };
    });
    const successful = validated.map(
      ({ id, published }) => textElement('Id', id) + textElement('MessageId', this.#accept(published)),
    );
    return members('Successful', successful) + element('Failed', '');
  }

  /** A Publish to a phone number: one SMS, written before Publish answers (https://docs.aws.amazon.com/sns/latest/dg/sms_sending-overview.html). */
  #publishSms(phoneNumber: string, params: URLSearchParams): string {
    if (!PHONE_NUMBER.test(phoneNumber)) {
      throw invalidParameter(
        `Invalid parameter: PhoneNumber Reason: ${phoneNumber} is not valid to publish to`,
      );
    }
    const message = params.get('Message');
    if (message === null) throw missingMember('message');
    if (message === '') throw invalidParameter('Invalid parameter: Empty message');
    const messageId = randomUUID();
    this.#sms.send({ to: phoneNumber, messageId, sentAt: new Date().toISOString(), message });
    return messageId;
  }

  /** Checks a Publish (or a batch entry) as SNS does, before anything is published. */
  #validatePublish(params: URLSearchParams): Published {
    const subject = params.get('Subject') ?? undefined;
    if (subject !== undefined && !SUBJECT.test(subject)) throw invalidParameter('Invalid parameter: Subject');
    const message = params.get('Message');
    if (message === null) throw missingMember('message');
    if (message === '') throw invalidParameter('Invalid parameter: Empty message');
    const attributes = validateMessageAttributes(readMessageAttributes(params));
    const size = Object.entries(attributes).reduce(
      (sum, [name, attribute]) => sum + attributeBytes(name, attribute),
      Buffer.byteLength(message),
    );
    if (size > MAX_MESSAGE_BYTES) throw invalidParameter('Invalid parameter: Message too long');
    if (params.has('MessageDeduplicationId')) {
      throw invalidParameter(
        'Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type',
      );
    }
    const structure = params.get('MessageStructure');
    const structured = structure === null ? undefined : parseStructuredMessage(structure, message);
    const topic = this.#topicOf(params.get('TopicArn') ?? params.get('TargetArn'));

    return {
      messageId: randomUUID(),
      topic,
      subject,
      message,
      structured,
      attributes,
      timestamp: new Date().toISOString(),
    };
  }

  /** Journals a validated message's deliveries, one per matching subscription, then starts them; answers its id. */
  #accept(published: Published): string {
    const { topic, attributes } = published;
    const deliveries: {
      subscription: Subscription;
      body: string;
      id: string;
      pending: PendingNotification;
    }[] = [];
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.topicArn !== topic.arn || subscription.pending) continue;
      const body = messageFor(published, subscription.protocol);
      const filter = this.#filters.get(subscription.arn);
      if (filter && !filter.matches({ attributes, body })) continue;
      const pending = {
        subscriptionArn: subscription.arn,
        published: journaledPublished(published),
        attempts: 0,
      };
      deliveries.push({ subscription, body, id: randomUUID(), pending });
    }
    // Journaled before Publish answers, as SNS stores a message durably before acknowledging it.
    this.#journal.putAll(deliveries.map(({ id, pending }) => ({ id, value: pending })));
    for (const { subscription, body, id, pending } of deliveries) {
      this.#track(this.#deliver(subscription, published, body, { id, pending }));
    }
    return published.messageId;
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html */
  async #subscribe(params: URLSearchParams): Promise<string> {
    const topic = this.#topicOf(params.get('TopicArn'));
    const protocol = params.get('Protocol');
    if (protocol === null) throw missingMember('protocol');
    if (!AWS_PROTOCOLS.has(protocol)) {
      throw invalidParameter(
        `Invalid parameter: Amazon SNS does not support this protocol string: ${protocol}`,
      );
    }
    if (!isProtocol(protocol)) {
      throw invalidParameter(
        `Invalid parameter: Protocol Reason: the local SNS delivers to ${PROTOCOLS.join(', ')} only, not ${protocol}`,
      );
    }
    const endpoint = validEndpoint(protocol, params.get('Endpoint'));
    const requested = readMap(params, 'Attributes') ?? new Map<string, string>();
    const returnArn = params.get('ReturnSubscriptionArn')?.toLowerCase() === 'true';
    const answer = (subscription: Subscription) =>
      textElement(
        'SubscriptionArn',
        subscription.pending && !returnArn ? 'pending confirmation' : subscription.arn,
      );

    const existing = [...this.#subscriptions.values()].find(
      (s) => s.topicArn === topic.arn && s.protocol === protocol && s.endpoint === endpoint,
    );
    if (existing) {
      const current = comparableAttributes(existing);
      for (const [name, value] of requested) {
        const normalised = name === 'RawMessageDelivery' ? value.toLowerCase() : value;
        if (current[name] !== normalised) {
          throw invalidParameter(
            'Invalid parameter: Attributes Reason: Subscription already exists with different attributes',
          );
        }
      }
      if (existing.pending && !isEmail(existing.protocol)) this.#track(this.#sendConfirmation(existing));
      return answer(existing);
    }

    const subscription: Subscription = {
      arn: `${topic.arn}:${randomUUID()}`,
      topicArn: topic.arn,
      protocol,
      endpoint,
      pending: true,
      authenticated: false,
      token: newToken(),
      filterPolicyScope: 'MessageAttributes',
      rawMessageDelivery: false,
    };
    this.#applyAttributes(
      subscription,
      requested,
      (reason) => `Invalid parameter: Attributes Reason: ${reason}`,
    );
    this.#subscriptions.set(subscription.arn, subscription);
    this.#tokens.set(subscription.token, { topicArn: topic.arn, subscriptionArn: subscription.arn });
    this.#save();

    if (isEmail(protocol)) {
      await this.#sendConfirmationEmail(subscription, topic);
      subscription.pending = false;
      this.#save();
    } else if (protocol === 'sms') {
      subscription.pending = false;
      this.#save();
    } else {
      this.#track(this.#sendConfirmation(subscription));
    }
    return answer(subscription);
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html: idempotent. */
  #confirmSubscription(params: URLSearchParams): string {
    const topicArn = params.get('TopicArn');
    const token = params.get('Token');
    if (topicArn === null) throw missingMember('topicArn');
    if (token === null) throw missingMember('token');
    const parts = topicArn.split(':');
    if (parts.length < 6 || parts[3] !== this.#options.region)
      throw invalidParameter('Invalid parameter: Topic');
    const entry = this.#tokens.get(token);
    if (!entry || entry.topicArn !== topicArn) throw invalidParameter('Invalid parameter: Token');
    let subscription = this.#subscriptions.get(entry.subscriptionArn);
    if (!subscription && entry.restore && this.#topics.has(entry.restore.topicArn)) {
      subscription = { ...entry.restore, pending: true };
      this.#subscriptions.set(subscription.arn, subscription);
      this.#applyAttributes(subscription, new Map(), (reason) => `Invalid parameter: ${reason}`);
      this.#tokens.set(subscription.token, { topicArn, subscriptionArn: subscription.arn });
    }
    if (!subscription) throw invalidParameter('Invalid parameter: Token');
    if (subscription.pending) {
      subscription.pending = false;
      subscription.authenticated = params.get('AuthenticateOnUnsubscribe')?.toLowerCase() === 'true';
      this.#save();
    }
    return textElement('SubscriptionArn', subscription.arn);
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_Unsubscribe.html: idempotent. */
  #unsubscribe(params: URLSearchParams): undefined {
    const subscription = this.#subscriptionOf(
      params.get('SubscriptionArn'),
      'Invalid parameter: SubscriptionId',
    );
    if (!subscription) return undefined;
    this.#subscriptions.delete(subscription.arn);
    this.#filters.delete(subscription.arn);
    for (const [token, entry] of this.#tokens) {
      if (entry.subscriptionArn === subscription.arn) this.#tokens.delete(token);
    }
    if (!isEmail(subscription.protocol)) {
      const token = newToken();
      this.#tokens.set(token, {
        topicArn: subscription.topicArn,
        subscriptionArn: subscription.arn,
        restore: subscription,
      });
      this.#track(this.#sendUnsubscribeConfirmation(subscription, token));
    }
    this.#save();
    return undefined;
  }

  #listSubscriptionsByTopic(params: URLSearchParams): string {
    const topic = this.#topicOf(params.get('TopicArn'));
    return this.#listSubscriptions(
      [...this.#subscriptions.values()].filter((s) => s.topicArn === topic.arn),
      params,
    );
  }

  /** Pending subscriptions show `PendingConfirmation` instead of their ARN, as on AWS. */
  #listSubscriptions(subscriptions: readonly Subscription[], params: URLSearchParams): string {
    const { page, next } = this.#page(subscriptions, params);
    return (
      members(
        'Subscriptions',
        page.map(
          (s) =>
            textElement('TopicArn', s.topicArn) +
            textElement('Protocol', s.protocol) +
            textElement('SubscriptionArn', s.pending ? 'PendingConfirmation' : s.arn) +
            textElement('Owner', this.#options.accountId) +
            textElement('Endpoint', s.endpoint),
        ),
      ) + (next ? textElement('NextToken', next) : '')
    );
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_GetSubscriptionAttributes.html */
  #getSubscriptionAttributes(params: URLSearchParams): string {
    const subscription = this.#subscriptionOf(params.get('SubscriptionArn'));
    if (!subscription) throw notFound('Subscription does not exist');
    const attributes: Record<string, string> = {
      ConfirmationWasAuthenticated: String(subscription.authenticated),
      Endpoint: subscription.endpoint,
      Owner: this.#options.accountId,
      PendingConfirmation: String(subscription.pending),
      Protocol: subscription.protocol,
      RawMessageDelivery: String(subscription.rawMessageDelivery),
      SubscriptionArn: subscription.arn,
      TopicArn: subscription.topicArn,
    };
    if (subscription.redrivePolicy !== undefined) attributes.RedrivePolicy = subscription.redrivePolicy;
    if (subscription.filterPolicy !== undefined) {
      attributes.FilterPolicy = subscription.filterPolicy;
      attributes.FilterPolicyScope = subscription.filterPolicyScope;
    }
    return entries('Attributes', attributes);
  }

  /** https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html */
  #setSubscriptionAttributes(params: URLSearchParams): undefined {
    const subscription = this.#subscriptionOf(params.get('SubscriptionArn'));
    if (!subscription) throw notFound('Subscription does not exist');
    const name = params.get('AttributeName');
    if (name === null) throw missingMember('attributeName');
    this.#applyAttributes(
      subscription,
      new Map([[name, params.get('AttributeValue') ?? '']]),
      (reason) => `Invalid parameter: ${reason}`,
    );
    this.#save();
    return undefined;
  }

  /**
   * Validates and applies subscription attributes all at once (nothing changes when one is refused),
   * then recompiles the filter policy, since a new scope can make the current policy invalid.
   * `message` turns a reason into the message of the call: Subscribe and SetSubscriptionAttributes word
   * them differently.
   */
  #applyAttributes(
    subscription: Subscription,
    attributes: ReadonlyMap<string, string>,
    message: (reason: string) => string,
  ): void {
    const refuse = (reason: string) => invalidParameter(message(reason));
    const next = { ...subscription };
    for (const [name, value] of attributes) {
      switch (name) {
        case 'FilterPolicy':
          next.filterPolicy = value === '' ? undefined : value;
          break;
        case 'FilterPolicyScope':
          if (!isScope(value)) {
            throw refuse(
              `FilterPolicyScope: Invalid value [${value}]. Please use either MessageBody or MessageAttributes`,
            );
          }
          next.filterPolicyScope = value;
          break;
        case 'RawMessageDelivery': {
          const raw = value.toLowerCase();
          if (raw !== 'true' && raw !== 'false') {
            throw refuse(`RawMessageDelivery: Invalid value [${value}]. Must be true or false.`);
          }
          if (isEmail(next.protocol) && raw === 'true') {
            throw refuse(`Delivery protocol [${next.protocol}] does not support raw message delivery.`);
          }
          next.rawMessageDelivery = raw === 'true';
          break;
        }
        case 'RedrivePolicy':
          if (value !== '') validateRedrivePolicy(value, refuse);
          next.redrivePolicy = value === '' ? undefined : value;
          break;
        case 'DeliveryPolicy':
        case 'SubscriptionRoleArn':
          throw refuse(`${name}: not emulated by the local SNS`);
        default:
          throw refuse('AttributeName');
      }
    }
    let filter: CompiledFilterPolicy | undefined;
    if (next.filterPolicy !== undefined) {
      try {
        filter = compileFilterPolicy(next.filterPolicy, next.filterPolicyScope);
      } catch (error) {
        if (error instanceof InvalidFilterPolicyError) throw refuse(error.reason);
        throw error;
      }
    }
    Object.assign(subscription, next);
    if (filter) this.#filters.set(subscription.arn, filter);
    else this.#filters.delete(subscription.arn);
  }

  #topicOf(arn: string | null): Topic {
    const text = arn ?? '';
    const parts = text.split(':');
    if (parts.length < 6) {
      throw invalidParameter(
        `Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not ${parts.length}`,
      );
    }
    if (parts[3] !== this.#options.region) throw invalidParameter('Invalid parameter: TopicArn');
    const topic = this.#topics.get(text);
    if (!topic) throw notFound('Topic does not exist');
    return topic;
  }

  /** The subscription an ARN names, `undefined` when none does; refuses what is not a subscription ARN. */
  #subscriptionOf(arn: string | null, topicArnMessage?: string): Subscription | undefined {
    if (arn === null || arn === '') {
      throw invalidParameter('Invalid parameter: SubscriptionArn Reason: no value for required parameter');
    }
    const parts = arn.split(':').length;
    if (parts < 6) {
      throw invalidParameter(
        `Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not ${parts}`,
      );
    }
    if (parts === 6 && topicArnMessage) throw invalidParameter(topicArnMessage);
    return this.#subscriptions.get(arn);
  }

  #page<T>(items: readonly T[], params: URLSearchParams): { page: T[]; next: string | undefined } {
    const token = params.get('NextToken');
    let start = 0;
    if (token !== null && token !== '') {
      start = Number(Buffer.from(token, 'base64url').toString());
      if (!Number.isSafeInteger(start) || start < 0 || encodePageToken(start) !== token) {
        throw invalidParameter('Invalid parameter: NextToken');
      }
    }
    const end = start + PAGE_SIZE;
    return { page: items.slice(start, end), next: end < items.length ? encodePageToken(end) : undefined };
  }

  #baseUrl(): string {
    return this.#options.publicUrl().replace(/\/+$/, '');
  }

  #track(delivery: Promise<unknown>): void {
    const tracked = delivery.then(
      () => undefined,
      (error: unknown) => {
        console.error('local SNS: delivery failed unexpectedly', error);
      },
    );
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  /** Delivers one journaled notification, then marks it done unless a stop left its retries for the next start. */
  async #deliver(
    subscription: Subscription,
    published: Published,
    message: string,
    journaled: { readonly id: string; readonly pending: PendingNotification },
  ): Promise<void> {
    const outcome = await this.#deliverNotification(subscription, published, message, journaled);
    if (outcome?.status === 'stopped' && this.#journal.persistent) return;
    this.#journal.done(journaled.id);
  }

  async #deliverNotification(
    subscription: Subscription,
    published: Published,
    message: string,
    { id, pending }: { readonly id: string; readonly pending: PendingNotification },
  ): Promise<DeliveryOutcome | undefined> {
    const baseUrl = this.#baseUrl();
    const envelope = notificationEnvelope({
      baseUrl,
      messageId: published.messageId,
      topicArn: published.topic.arn,
      subscriptionArn: subscription.arn,
      subject: published.subject,
      message,
      timestamp: published.timestamp,
      attributes: published.attributes,
    });
    if (subscription.protocol === 'sms') {
      this.#sms.send({
        to: subscription.endpoint,
        messageId: published.messageId,
        sentAt: published.timestamp,
        message,
        topicArn: published.topic.arn,
      });
      return undefined;
    }
    if (isEmail(subscription.protocol)) {
      const body =
        subscription.protocol === 'email'
          ? notificationEmailBody(message, unsubscribeUrl(baseUrl, subscription.arn))
          : JSON.stringify(envelope, null, 2);
      await this.#sendEmail(
        subscription,
        published.topic,
        {
          subject: published.subject ?? DEFAULT_EMAIL_SUBJECT,
          body,
          messageId: published.messageId,
          type: 'Notification',
        },
        { id, at: new Date(published.timestamp) },
      );
      return undefined;
    }
    return this.#post(subscription, {
      ...(pending.attempts > 0
        ? { resumeFrom: { attempts: pending.attempts, error: pending.error ?? '' } }
        : {}),
      onFailedAttempt: (attempts, error) => this.#journal.put(id, { ...pending, attempts, error }),
      keepWhenStopped: this.#journal.persistent,
      type: 'Notification',
      messageId: published.messageId,
      body: subscription.rawMessageDelivery ? message : JSON.stringify(envelope, null, 2),
      headers: {
        'x-amz-sns-subscription-arn': subscription.arn,
        ...(subscription.rawMessageDelivery ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
      },
      wanted: () => this.#subscriptions.has(subscription.arn),
    });
  }

  async #sendConfirmationEmail(subscription: Subscription, topic: Topic): Promise<void> {
    const baseUrl = this.#baseUrl();
    const envelope = subscriptionConfirmationEnvelope({
      baseUrl,
      messageId: randomUUID(),
      topicArn: topic.arn,
      token: subscription.token,
      timestamp: new Date().toISOString(),
    });
    await this.#sendEmail(subscription, topic, {
      subject: CONFIRMATION_EMAIL_SUBJECT,
      body:
        subscription.protocol === 'email'
          ? confirmationEmailBody(topic.arn, subscribeUrl(baseUrl, topic.arn, subscription.token))
          : JSON.stringify(envelope, null, 2),
      messageId: envelope.MessageId,
      type: envelope.Type,
    });
  }

  async #sendEmail(
    subscription: Subscription,
    topic: Topic,
    mail: { subject: string; body: string; messageId: string; type: string },
    once?: { readonly id: string; readonly at: Date },
  ): Promise<void> {
    try {
      await this.#mailbox.deliver(
        {
          senderName: topic.attributes.DisplayName || DEFAULT_SENDER_NAME,
          to: subscription.endpoint,
          subject: mail.subject,
          body: mail.body,
          messageId: mail.messageId,
          topicArn: topic.arn,
        },
        once,
      );
    } catch (error) {
      await this.#deadLetter(subscription, {
        reason: 'write-failed',
        error: error instanceof Error ? error.message : String(error),
        attempts: 1,
        type: mail.type,
        messageId: mail.messageId,
        body: mail.body,
      });
    }
  }

  #sendConfirmation(subscription: Subscription): Promise<DeliveryOutcome> {
    const envelope = subscriptionConfirmationEnvelope({
      baseUrl: this.#baseUrl(),
      messageId: randomUUID(),
      topicArn: subscription.topicArn,
      token: subscription.token,
      timestamp: new Date().toISOString(),
    });
    return this.#post(subscription, {
      type: envelope.Type,
      messageId: envelope.MessageId,
      body: JSON.stringify(envelope, null, 2),
      headers: {},
      wanted: () => this.#subscriptions.get(subscription.arn)?.pending === true,
    });
  }

  #sendUnsubscribeConfirmation(subscription: Subscription, token: string): Promise<DeliveryOutcome> {
    const envelope = unsubscribeConfirmationEnvelope({
      baseUrl: this.#baseUrl(),
      messageId: randomUUID(),
      topicArn: subscription.topicArn,
      subscriptionArn: subscription.arn,
      token,
      timestamp: new Date().toISOString(),
    });
    return this.#post(subscription, {
      type: envelope.Type,
      messageId: envelope.MessageId,
      body: JSON.stringify(envelope, null, 2),
      headers: { 'x-amz-sns-subscription-arn': subscription.arn },
      wanted: () => !this.#subscriptions.has(subscription.arn),
    });
  }

  /** POSTs with SNS's headers (https://docs.aws.amazon.com/sns/latest/dg/http-header.html) and retries. */
  async #post(
    subscription: Subscription,
    delivery: {
      type: string;
      messageId: string;
      body: string;
      headers: Record<string, string>;
      wanted: () => boolean;
      resumeFrom?: { attempts: number; error: string };
      onFailedAttempt?: (attempts: number, error: string) => void;
      /** A stopped delivery is left to the next start (it is journaled) rather than dead-lettered. */
      keepWhenStopped?: boolean;
    },
  ): Promise<DeliveryOutcome> {
    const outcome = await postWithRetries(
      {
        url: subscription.endpoint,
        headers: {
          'content-type': 'text/plain; charset=UTF-8',
          'user-agent': 'Amazon Simple Notification Service Agent',
          'x-amz-sns-message-type': delivery.type,
          'x-amz-sns-message-id': delivery.messageId,
          'x-amz-sns-topic-arn': subscription.topicArn,
          ...delivery.headers,
        },
        body: delivery.body,
      },
      {
        delaysMs: this.#retryDelaysMs,
        timeoutMs: this.#options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
        stop: this.#stop.signal,
        wanted: delivery.wanted,
        ...(delivery.resumeFrom ? { resumeFrom: delivery.resumeFrom } : {}),
        ...(delivery.onFailedAttempt ? { onFailedAttempt: delivery.onFailedAttempt } : {}),
      },
    );
    if (outcome.status === 'stopped' && delivery.keepWhenStopped) return outcome;
    if (outcome.status === 'failed' || outcome.status === 'stopped') {
      await this.#deadLetter(subscription, {
        reason: outcome.status === 'failed' ? 'retries-exhausted' : 'stopped',
        error: outcome.error,
        attempts: outcome.attempts,
        type: delivery.type,
        messageId: delivery.messageId,
        body: delivery.body,
      });
    }
    return outcome;
  }

  async #deadLetter(
    subscription: Subscription,
    letter: Pick<DeadLetter, 'reason' | 'error' | 'attempts' | 'type' | 'messageId' | 'body'>,
  ): Promise<void> {
    const topicName = subscription.topicArn.slice(subscription.topicArn.lastIndexOf(':') + 1);
    if (subscription.redrivePolicy !== undefined && letter.type === 'Notification') {
      // Honoured as SNS does for messages (not for its own confirmation requests): the message goes to the subscription's dead-letter queue (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html).
      this.#options.sendToQueue?.(deadLetterTargetOf(subscription.redrivePolicy), letter.body, {
        RequestID: { DataType: 'String', StringValue: randomUUID() },
        ErrorCode: {
          DataType: 'String',
          StringValue: String(letter.error ?? 'DeliveryFailed').slice(0, 256),
        },
        TopicArn: { DataType: 'String', StringValue: subscription.topicArn },
      });
    }
    await this.#deadLetters.record(topicName, {
      failedAt: new Date().toISOString(),
      ...letter,
      topicArn: subscription.topicArn,
      subscriptionArn: subscription.arn,
      protocol: subscription.protocol,
      endpoint: subscription.endpoint,
    });
  }

  #load(file: string): void {
    if (!existsSync(file)) return;
    let state: z.infer<typeof PersistedState>;
    try {
      state = PersistedState.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      throw new Error(`The local SNS state in ${file} is unreadable; move it away to start afresh`, {
        cause: error,
      });
    }
    for (const topic of state.topics) this.#topics.set(topic.arn, topic);
    for (const [token, entry] of Object.entries(state.tokens)) this.#tokens.set(token, entry);
    for (const subscription of state.subscriptions) {
      this.#subscriptions.set(subscription.arn, subscription);
      if (subscription.filterPolicy !== undefined) {
        this.#filters.set(
          subscription.arn,
          compileFilterPolicy(subscription.filterPolicy, subscription.filterPolicyScope),
        );
      }
    }
  }

  /** Writes topics and subscriptions whole, then renames, so a crash never leaves half a file. */
  #save(): void {
    if (!this.#stateFile) return;
    const state: z.infer<typeof PersistedState> = {
      version: 1,
      topics: [...this.#topics.values()],
      subscriptions: [...this.#subscriptions.values()],
      tokens: Object.fromEntries(this.#tokens),
    };
    writeFileSync(`${this.#stateFile}.tmp`, JSON.stringify(state));
    renameSync(`${this.#stateFile}.tmp`, this.#stateFile);
  }
}

/**
 * MessageStructure=json: the message is a JSON object of protocol → text with a `default` entry; keys
 * whose values are not strings are ignored, as AWS does.
 */
const parseStructuredMessage = (structure: string, message: string): Record<string, string> => {
  if (structure !== 'json') throw invalidParameter('Invalid parameter: MessageStructure');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  const byProtocol =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? Object.fromEntries(
          Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        )
      : {};
  if (!Object.hasOwn(byProtocol, 'default')) {
    throw invalidParameter('Invalid parameter: Message Structure - No default entry in JSON message body');
  }
  return byProtocol;
};

const messageFor = (published: Published, protocol: Protocol): string => {
  const { structured } = published;
  if (!structured) return published.message;
  return (
    (Object.hasOwn(structured, protocol) ? structured[protocol] : structured.default) ?? published.message
  );
};

/** The attributes a repeated Subscribe is compared against. */
const comparableAttributes = (subscription: Subscription): Record<string, string> => ({
  FilterPolicy: subscription.filterPolicy ?? '',
  FilterPolicyScope: subscription.filterPolicyScope,
  RawMessageDelivery: String(subscription.rawMessageDelivery),
});

/**
 * A subscription's RedrivePolicy as SNS checks it: JSON (worded as AWS's parser words it) naming
 * an SQS queue ARN in `deadLetterTargetArn` (https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html).
 */
const validateRedrivePolicy = (value: string, refuse: (reason: string) => SnsError): void => {
  let policy: unknown;
  try {
    policy = parseJsonAsJackson(value, 'redacted');
  } catch (error) {
    if (error instanceof JacksonParseError)
      throw refuse(`RedrivePolicy: failed to parse JSON. ${error.message}`);
    throw error;
  }
  const arn =
    typeof policy === 'object' && policy !== null
      ? (policy as Record<string, unknown>).deadLetterTargetArn
      : undefined;
  if (typeof arn !== 'string' || !/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w-]{1,80}$/.test(arn))
    throw refuse('RedrivePolicy: deadLetterTargetArn is an invalid arn');
};

/** The queue ARN of a valid RedrivePolicy. */
const deadLetterTargetOf = (policy: string): string =>
  z.object({ deadLetterTargetArn: z.string() }).parse(JSON.parse(policy)).deadLetterTargetArn;

const validEndpoint = (protocol: Protocol, endpoint: string | null): string => {
  if (protocol === 'sms') {
    if (endpoint === null || !PHONE_NUMBER.test(endpoint))
      throw invalidParameter(`Invalid SMS endpoint: ${endpoint}`);
    return endpoint;
  }
  if (isEmail(protocol)) {
    if (endpoint === null || endpoint.length > 254 || !EMAIL_ADDRESS.test(endpoint)) {
      throw invalidParameter('Invalid parameter: Email address');
    }
    return endpoint;
  }
  if (endpoint === null || !endpoint.toLowerCase().startsWith(`${protocol}://`)) {
    throw invalidParameter('Invalid parameter: Endpoint must match the specified protocol');
  }
  if (!URL.canParse(endpoint) || new URL(endpoint).hostname === '') {
    throw invalidParameter('Invalid parameter: Endpoint');
  }
  return endpoint;
};
