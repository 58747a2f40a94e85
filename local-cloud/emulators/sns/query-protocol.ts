/**
 * The AWS Query protocol as SNS speaks it: form-encoded parameters in, XML out.
 *
 * Answers follow https://smithy.io/2.0/aws/protocols/aws-query-protocol.html: a success is
 * `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>…`, an error is
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>` with the HTTP status the SDK's
 * error table expects for that code, which is what makes the SDK raise the typed exception.
 */
import type { SnsMessageAttribute } from './filter-policy.ts';

export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** What the edge writes back for one Query request. */
export interface QueryAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * An error SNS answers. `code` is the Query error code the SDK maps to an exception class
 * (`NotFound` → `NotFoundException`, `InvalidParameter` → `InvalidParameterException`).
 */
export class SnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
    this.name = 'SnsError';
  }
}

/** https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html */
export const invalidParameter = (message: string) => new SnsError('InvalidParameter', message);

export const notFound = (message: string) => new SnsError('NotFound', message, 404);

/** The validation error AWS's front end answers when a required member is absent. */
export const missingMember = (member: string) =>
  new SnsError(
    'ValidationError',
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** Escapes text for XML 1.0, replacing the control characters XML cannot carry at all. */
export const xmlText = (text: string): string =>
  text
    .replace(/[&<>"'\r]/g, (char) => XML_ESCAPES[char] ?? char)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');

/** One element; `content` is already XML. */
export const element = (name: string, content: string): string => `<${name}>${content}</${name}>`;

/** One element holding text. */
export const textElement = (name: string, text: string): string => element(name, xmlText(text));

/** A list as the Query protocol serialises it: each item in a `<member>`. */
export const members = (name: string, items: readonly string[]): string =>
  element(name, items.map((item) => element('member', item)).join(''));

/** A map as SNS serialises `Attributes`: `<entry><key/><value/></entry>`. */
export const entries = (name: string, map: Readonly<Record<string, string>>): string =>
  element(
    name,
    Object.entries(map)
      .map(([key, value]) => element('entry', textElement('key', key) + textElement('value', value)))
      .join(''),
  );

/** A success: the action's result element (absent for actions that answer nothing) and the request id. */
export const resultAnswer = (action: string, requestId: string, result?: string): QueryAnswer => ({
  status: 200,
  contentType: 'text/xml',
  body:
    `<${action}Response xmlns="${SNS_XMLNS}">` +
    (result === undefined ? '' : element(`${action}Result`, result)) +
    element('ResponseMetadata', textElement('RequestId', requestId)) +
    `</${action}Response>`,
});

/** An error, with the status the SDK's error table gives its code so that the typed exception is raised. */
export const errorAnswer = (error: SnsError, requestId: string): QueryAnswer => ({
  status: error.status,
  contentType: 'text/xml',
  body:
    `<ErrorResponse xmlns="${SNS_XMLNS}">` +
    element(
      'Error',
      textElement('Type', error.type) +
        textElement('Code', error.code) +
        textElement('Message', error.message),
    ) +
    textElement('RequestId', requestId) +
    '</ErrorResponse>',
});

/**
 * Reads a Query map such as `Attributes.entry.1.key=…&Attributes.entry.1.value=…`, in entry order.
 * Returns `undefined` when no entry is present, as the SDK omits empty maps.
 */
export const readMap = (
  params: URLSearchParams,
  prefix: string,
  keyName = 'key',
  valueName = 'value',
): Map<string, string> | undefined => {
  const map = new Map<string, string>();
  for (let index = 1; ; index++) {
    const key = params.get(`${prefix}.entry.${index}.${keyName}`);
    if (key === null) break;
    map.set(key, params.get(`${prefix}.entry.${index}.${valueName}`) ?? '');
  }
  return map.size > 0 ? map : undefined;
};

/**
 * The entries of a batch (`<prefix>.member.N.<field>`), each as the parameters of a single call,
 * so `PublishBatchRequestEntries.member.1.Message` reads as `Message`.
 */
export const readBatchEntries = (params: URLSearchParams, prefix: string): URLSearchParams[] => {
  const batch: URLSearchParams[] = [];
  for (let index = 1; ; index++) {
    const start = `${prefix}.member.${index}.`;
    const entry = new URLSearchParams();
    for (const [key, value] of params)
      if (key.startsWith(start)) entry.append(key.slice(start.length), value);
    if ([...entry.keys()].length === 0) break;
    batch.push(entry);
  }
  return batch;
};

/** A Publish message attribute as it arrived, before validation. */
export interface RawMessageAttribute {
  readonly DataType: string | null;
  readonly StringValue: string | null;
  readonly BinaryValue: string | null;
}

/** Reads `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` / `.Value.BinaryValue`. */
export const readMessageAttributes = (params: URLSearchParams): Map<string, RawMessageAttribute> => {
  const attributes = new Map<string, RawMessageAttribute>();
  for (let index = 1; ; index++) {
    const prefix = `MessageAttributes.entry.${index}`;
    const name = params.get(`${prefix}.Name`);
    if (name === null) break;
    attributes.set(name, {
      DataType: params.get(`${prefix}.Value.DataType`),
      StringValue: params.get(`${prefix}.Value.StringValue`),
      BinaryValue: params.get(`${prefix}.Value.BinaryValue`),
    });
  }
  return attributes;
};

/** https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html */
export const MAX_MESSAGE_ATTRIBUTES = 10;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]+$/;
const ATTRIBUTE_TYPE = /^(String|Number|Binary)(\..+)?$/;
const valueInvalid = (message: string) => new SnsError('ParameterValueInvalid', message);

const validateAttributeName = (name: string): void => {
  if (Buffer.byteLength(name) > 256) {
    throw valueInvalid('Length of message attribute name must be less than 256 bytes.');
  }
  if (name.startsWith('.')) {
    throw valueInvalid("Invalid message attribute name starting with character '.' was found.");
  }
  if (name.endsWith('.')) {
    throw valueInvalid("Invalid message attribute name ending with character '.' was found.");
  }
  if (!ATTRIBUTE_NAME.test(name)) {
    const bad = [...name].find((char) => !ATTRIBUTE_NAME.test(char)) ?? '';
    const hex = (bad.codePointAt(0) ?? 0).toString(16).toUpperCase();
    throw valueInvalid(
      `Invalid non-alphanumeric character '#x${hex}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.`,
    );
  }
  if (name.includes('..')) {
    throw valueInvalid("Message attribute name can not have successive '.' character.");
  }
};

/**
 * Validates Publish message attributes with the messages AWS answers (recorded in LocalStack's
 * `test_sns.snapshot.json`), returning them in the shape filter policies read.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html
 */
export const validateMessageAttributes = (
  raw: ReadonlyMap<string, RawMessageAttribute>,
): Record<string, SnsMessageAttribute> => {
  if (raw.size > MAX_MESSAGE_ATTRIBUTES) {
    throw valueInvalid(
      `Number of message attributes [${raw.size}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const attributes: Record<string, SnsMessageAttribute> = {};
  for (const [name, attribute] of raw) {
    validateAttributeName(name);
    const dataType = attribute.DataType;
    if (dataType === null) throw missingMember(`messageAttributes.${name}.member.dataType`);
    if (!ATTRIBUTE_TYPE.test(dataType)) {
      throw valueInvalid(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    const empty = valueInvalid(
      `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
    );
    if (attribute.StringValue === null && attribute.BinaryValue === null) throw empty;
    const field = dataType.startsWith('Binary') ? 'Binary' : 'String';
    const value = field === 'Binary' ? attribute.BinaryValue : attribute.StringValue;
    if (value === null) {
      throw valueInvalid(
        `The message attribute '${name}' with type '${dataType}' must use field '${field}'.`,
      );
    }
    if (value === '') throw empty;
    if (field === 'Binary') {
      attributes[name] = { DataType: dataType, BinaryValue: new Uint8Array(Buffer.from(value, 'base64')) };
      continue;
    }
    if (dataType.startsWith('Number') && !Number.isFinite(Number(value))) {
      throw valueInvalid(`Could not cast message attribute '${name}' value to number.`);
    }
    attributes[name] = { DataType: dataType, StringValue: value };
  }
  return attributes;
};

/** Bytes a message attribute adds to the 256 KiB message limit: its name, type and value all count. */
export const attributeBytes = (name: string, attribute: SnsMessageAttribute): number =>
  Buffer.byteLength(name) +
  Buffer.byteLength(attribute.DataType) +
  (attribute.BinaryValue ? attribute.BinaryValue.byteLength : Buffer.byteLength(attribute.StringValue ?? ''));
