import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';

/** An access key the local edge accepts signatures from (`aws` in `<data dir>/credentials.json`). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The request as it arrived: the raw path and query, the headers, the whole body. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/**
 * Why a request was refused, in the terms every AWS protocol has an error code for: no signature
 * at all, a malformed one, an access key nobody issued, or a signature that does not match
 * (wrong secret, tampered request, stale date, wrong credential scope).
 */
export interface SigV4Failure {
  readonly kind: 'missing' | 'incomplete' | 'unknown-key' | 'mismatch';
  readonly message: string;
}

/** The signing name of the edge's own admin endpoints (`/_sensorbus/*`); `npm run events` signs with it. */
export const ADMIN_SIGNING_NAME = 'sensorbus';

/** How far a request's date may be from the clock, before or after, as on AWS. */
export const MAX_SKEW_MS = 15 * 60_000;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** SHA-256 and HMAC-SHA256 from node:crypto in the shape the SDK's signer takes. */
class NodeSha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    const secret = this.#secret;
    if (secret === undefined) return createHash('sha256');
    if (typeof secret === 'string') return createHmac('sha256', secret);
    if (ArrayBuffer.isView(secret))
      return createHmac('sha256', Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength));
    return createHmac('sha256', Buffer.from(secret));
  }
}

const sha256Hex = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');

const signers = new Map<string, SignatureV4>();

/** One signer per key, region and service: each keeps the day's derived signing key cached. */
const signerFor = (credentials: AwsCredentials, region: string, service: string): SignatureV4 => {
  const key = JSON.stringify([credentials.accessKeyId, credentials.secretAccessKey, region, service]);
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size > 64) signers.clear();
    signer = new SignatureV4({
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      applyChecksum: false,
    });
    signers.set(key, signer);
  }
  return signer;
};

/** `20261123T090000Z`, the date format of `X-Amz-Date` and of the signature's messages. */
const amzDate = (date: Date): string =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const parseAmzDate = (text: string): Date | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
};

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** The parameters of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header. */
const parseAuthorization = (
  header: string,
): { credential: string; signedHeaders: string[]; signature: string } | SigV4Failure => {
  const [algorithm = '', ...rest] = header.trim().split(/\s+/);
  const params = new Map(
    rest
      .join('')
      .split(',')
      .map((part) => {
        const equals = part.indexOf('=');
        return [part.slice(0, equals).trim(), part.slice(equals + 1).trim()] as const;
      }),
  );
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !params.get(name));
  if (algorithm !== ALGORITHM || missing.length > 0) {
    const problems =
      algorithm === ALGORITHM
        ? missing.map((name) => `Authorization header requires '${name}' parameter.`)
        : [`Unsupported AWS 'algorithm': '${algorithm}'.`];
    return { kind: 'incomplete', message: `${problems.join(' ')} Authorization=${header}` };
  }
  return {
    credential: params.get('Credential') ?? '',
    signedHeaders: (params.get('SignedHeaders') ?? '').split(';'),
    signature: params.get('Signature') ?? '',
  };
};

/**
 * Checks a request's Signature Version 4 the way AWS does
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html): the key id must be one
 * we issued, the date within 15 minutes of now, the credential scope this region and service, the
 * payload hash the body's; then the request is signed again with the SDK's own signer and the two
 * signatures compared in constant time. Answers undefined when the signature holds.
 */
export const verifySignature = async (
  request: ReceivedRequest,
  expected: { credentials: AwsCredentials; region: string; service: string; now?: Date },
): Promise<SigV4Failure | undefined> => {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined || authorization === '')
    return { kind: 'missing', message: 'Request is missing Authentication Token' };
  const parsed = parseAuthorization(authorization);
  if ('kind' in parsed) return parsed;

  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] =
    parsed.credential.split('/');
  if (terminator !== 'aws4_request')
    return {
      kind: 'incomplete',
      message: `Credential should be scoped to a valid terminator: 'aws4_request'. Credential=${parsed.credential}`,
    };
  if (
    accessKeyId !== expected.credentials.accessKeyId ||
    headerValue(request.headers, 'x-amz-security-token')
  )
    return { kind: 'unknown-key', message: 'The security token included in the request is invalid.' };

  const dateText = headerValue(request.headers, 'x-amz-date');
  const date = dateText === undefined ? undefined : parseAmzDate(dateText);
  if (!dateText || !date)
    return {
      kind: 'incomplete',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  const now = expected.now ?? new Date();
  if (date.getTime() < now.getTime() - MAX_SKEW_MS)
    return {
      kind: 'mismatch',
      message: `Signature expired: ${dateText} is now earlier than ${amzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDate(now)} - 15 min.)`,
    };
  if (date.getTime() > now.getTime() + MAX_SKEW_MS)
    return {
      kind: 'mismatch',
      message: `Signature not yet current: ${dateText} is still later than ${amzDate(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDate(now)} + 15 min.)`,
    };
  if (region !== expected.region)
    return { kind: 'mismatch', message: `Credential should be scoped to a valid region. ` };
  if (service !== expected.service)
    return {
      kind: 'mismatch',
      message: `Credential should be scoped to correct service: '${expected.service}'. `,
    };
  if (scopeDate !== dateText.slice(0, 8))
    return {
      kind: 'mismatch',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${dateText.slice(0, 8)}', from '${dateText}'.`,
    };
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== sha256Hex(request.body))
    return { kind: 'mismatch', message: MISMATCH };

  const signedNames = parsed.signedHeaders.map((name) => name.toLowerCase());
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headerValue(request.headers, name);
    if (value !== undefined) headers[name] = value;
  }
  const queryStart = request.url.indexOf('?');
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(queryStart < 0 ? '' : request.url.slice(queryStart + 1))) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [previous, value].flat();
  }
  const resigned = await signerFor(expected.credentials, region, service).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query,
      headers,
      body: request.body,
    },
    { signingDate: date, signableHeaders: new Set(signedNames) },
  );
  const ours = /Signature=([0-9a-f]+)$/.exec(resigned.headers.authorization ?? '')?.[1] ?? '';
  const theirs = Buffer.from(parsed.signature);
  const same = theirs.length === ours.length && timingSafeEqual(theirs, Buffer.from(ours));
  return same ? undefined : { kind: 'mismatch', message: MISMATCH };
};

/** What to sign: `fetch`'s arguments, with a text body. */
export interface SigningInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Whom and when to sign for; `signingDate` lets tests sign a stale request. */
export interface Signing {
  readonly credentials: AwsCredentials;
  readonly region: string;
  readonly service: string;
  readonly signingDate?: Date;
}

/**
 * The headers of a request signed with Signature Version 4 by the SDK's own signer: the given
 * ones plus `x-amz-date` and `authorization`. `host` is left out: `fetch` sets it, to the same value.
 */
export const signedHeaders = async (
  url: string | URL,
  init: SigningInit,
  signing: Signing,
): Promise<Record<string, string>> => {
  const target = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of target.searchParams) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [previous, value].flat();
  }
  const signed = await signerFor(signing.credentials, signing.region, signing.service).sign(
    {
      method: init.method ?? 'GET',
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port ? { port: Number(target.port) } : {}),
      path: target.pathname,
      query,
      headers: { ...init.headers, host: target.host },
      ...(init.body !== undefined ? { body: init.body } : {}),
    },
    signing.signingDate ? { signingDate: signing.signingDate } : {},
  );
  return Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== 'host'));
};

/** `fetch` with a Signature Version 4, for the project's own callers of the edge that are not SDK clients. */
export const signedFetch = async (
  url: string | URL,
  init: SigningInit & { readonly signal?: AbortSignal },
  signing: Signing,
): Promise<Response> =>
  fetch(url, {
    method: init.method ?? 'GET',
    headers: await signedHeaders(url, init, signing),
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
