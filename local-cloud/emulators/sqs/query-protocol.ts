import { AwsError } from '../shared/aws-protocol.ts';

/**
 * SQS's Query protocol (form-encoded `Action=...`, XML answers), which AWS still accepts beside
 * JSON and which older SDKs and the AWS CLI v2 before 2.13 speak
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html):
 * a request is turned into the input the JSON protocol carries, and the answer back into XML,
 * so the local SQS serves both from one implementation.
 */

const XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** The actions the local SQS answers, so the edge can tell an SQS Query request from an SNS one. */
export const SQS_QUERY_ACTIONS = new Set([
  'CreateQueue',
  'GetQueueUrl',
  'ListQueues',
  'DeleteQueue',
  'PurgeQueue',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ListDeadLetterSourceQueues',
  'StartMessageMoveTask',
  'ListMessageMoveTasks',
  'CancelMessageMoveTask',
]);

/** Query parameters that are integers in the API; every other scalar is a string. */
const INTEGERS = new Set([
  'DelaySeconds',
  'MaxNumberOfMessages',
  'WaitTimeSeconds',
  'VisibilityTimeout',
  'MaxNumberOfMessagesPerSecond',
  'MaxResults',
]);

/** Flattened list names of the Query protocol and the JSON member each stands for. */
const LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
};
/** Flattened maps (`Attribute.1.Name`, `Attribute.1.Value`) and the JSON member each stands for. */
const MAPS: Record<string, string> = {
  Attribute: 'Attributes',
  MessageAttribute: 'MessageAttributes',
  Tag: 'tags',
};

type Tree = { [key: string]: Tree | string };

/** `A.1.B.2.C=v` as nested objects keyed by each segment. */
const treeOf = (entries: Iterable<[string, string]>): Tree => {
  const root: Tree = {};
  for (const [key, value] of entries) {
    const path = key.split('.');
    let node = root;
    path.forEach((segment, index) => {
      if (index === path.length - 1) {
        node[segment] = value;
        return;
      }
      const next = node[segment];
      if (typeof next === 'object') node = next;
      else {
        const created: Tree = {};
        node[segment] = created;
        node = created;
      }
    });
  }
  return root;
};

/** The members of a flattened list (`1`, `2`, ...) in order. */
const members = (node: Tree | string): (Tree | string)[] =>
  typeof node === 'string'
    ? [node]
    : Object.keys(node)
        .filter((key) => /^\d+$/.test(key))
        .sort((a, b) => Number(a) - Number(b))
        .map((key) => node[key] ?? '');

const inputOf = (tree: Tree): Record<string, unknown> => {
  const input: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(tree)) {
    const list = LISTS[name];
    const map = MAPS[name];
    if (list) {
      input[list] = members(node).map((member) => (typeof member === 'string' ? member : inputOf(member)));
    } else if (map) {
      input[map] = Object.fromEntries(
        members(node).flatMap((member) => {
          if (typeof member === 'string') return [];
          const key = member.Name ?? member.Key;
          const value = member.Value;
          if (typeof key !== 'string' || value === undefined) return [];
          return [[key, typeof value === 'string' ? value : inputOf(value)]];
        }),
      );
    } else if (typeof node === 'string') {
      input[name] = INTEGERS.has(name) && /^-?\d+$/.test(node) ? Number(node) : node;
    } else {
      input[name] = inputOf(node);
    }
  }
  return input;
};

/** The operation and its JSON-protocol input of a Query request. */
export const sqsQueryRequest = (
  params: URLSearchParams,
): { operation: string; input: Record<string, unknown> } => {
  const { Action: _, Version: __, ...rest } = inputOf(treeOf(params.entries()));
  return { operation: params.get('Action') ?? '', input: rest };
};

const escapeXml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

/** Flattened list members in answers, by JSON member name. */
const ANSWER_LISTS: Record<string, string> = {
  QueueUrls: 'QueueUrl',
  queueUrls: 'QueueUrl',
  Messages: 'Message',
  Results: 'ListMessageMoveTasksResultEntry',
  Failed: 'BatchResultErrorEntry',
};
const ANSWER_MAPS: Record<string, string> = {
  Attributes: 'Attribute',
  MessageAttributes: 'MessageAttribute',
};

const xmlOf = (value: unknown, operation: string): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return escapeXml(String(value));
  return Object.entries(value)
    .map(([name, member]) => {
      if (Array.isArray(member)) {
        const element = name === 'Successful' ? `${operation}ResultEntry` : (ANSWER_LISTS[name] ?? name);
        return member.map((item) => `<${element}>${xmlOf(item, operation)}</${element}>`).join('');
      }
      const mapElement = ANSWER_MAPS[name];
      if (mapElement && typeof member === 'object' && member !== null) {
        return Object.entries(member)
          .map(
            ([key, entry]) =>
              `<${mapElement}><Name>${escapeXml(key)}</Name><Value>${xmlOf(entry, operation)}</Value></${mapElement}>`,
          )
          .join('');
      }
      return `<${name}>${xmlOf(member, operation)}</${name}>`;
    })
    .join('');
};

/** An answer in the Query protocol's XML: `<ActionResponse><ActionResult>...` and the request id. */
export const sqsQueryAnswer = (operation: string, output: unknown, requestId: string): string => {
  const result = xmlOf(output, operation);
  return `<?xml version="1.0"?><${operation}Response xmlns="${XMLNS}">${
    result ? `<${operation}Result>${result}</${operation}Result>` : ''
  }<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
};

/**
 * The Query protocol's error codes where they differ from the JSON protocol's type names
 * (the `x-amzn-query-error` codes, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html).
 */
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
};

/** An error in the Query protocol's XML, with its HTTP status. */
export const sqsQueryError = (error: AwsError, requestId: string): { status: number; body: string } => {
  const type = error.type.slice(error.type.indexOf('#') + 1);
  const code = QUERY_CODES[type] ?? type;
  return {
    status: error.status,
    body: `<?xml version="1.0"?><ErrorResponse xmlns="${XMLNS}"><Error><Type>${
      error.status >= 500 ? 'Receiver' : 'Sender'
    }</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(error.message)}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
};

/** Any failure as the AwsError the Query answer carries. */
export const asSqsError = (error: unknown): AwsError =>
  error instanceof AwsError
    ? error
    : new AwsError('InternalError', error instanceof Error ? error.message : 'internal error', 500);
