import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ReceivedRequest,
  signedHeaders,
  verifySignature,
} from '../../../../../local-cloud/emulators/edge/sigv4.ts';
import { LOCAL_REGION } from '../../../../../local-cloud/launcher/arns.ts';
import {
  loadAwsCredentials,
  loadCredentials,
  newAwsCredentials,
  saveCredentials,
} from '../../../../../local-cloud/launcher/credentials.ts';

const credentials = newAwsCredentials();
const URL_ = 'http://127.0.0.1:4566/?Action=ListTopics&Version=2010-03-31';
const body = 'Action=ListTopics';
const now = new Date('2026-11-23T09:00:00.000Z');

/** A request as the edge receives it, signed by the SDK's signer with these options. */
const received = async (
  overrides: { secret?: string; signingDate?: Date; service?: string; url?: string; body?: string } = {},
): Promise<ReceivedRequest> => {
  const headers = await signedHeaders(
    URL_,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
    {
      credentials: { ...credentials, secretAccessKey: overrides.secret ?? credentials.secretAccessKey },
      region: LOCAL_REGION,
      service: overrides.service ?? 'sns',
      signingDate: overrides.signingDate ?? now,
    },
  );
  const url = new URL(overrides.url ?? URL_);
  return {
    method: 'POST',
    url: `${url.pathname}${url.search}`,
    headers: { ...headers, host: url.host },
    body: Buffer.from(overrides.body ?? body),
  };
};

const verify = (request: ReceivedRequest) =>
  verifySignature(request, { credentials, region: LOCAL_REGION, service: 'sns', now });

describe('the edge’s SigV4 check', () => {
  it('accepts what the SDK signs with the generated credentials, within 15 minutes either way', async () => {
    expect(await verify(await received())).toBeUndefined();
    expect(
      await verify(await received({ signingDate: new Date(now.getTime() - 14 * 60_000) })),
    ).toBeUndefined();
    expect(
      await verify(await received({ signingDate: new Date(now.getTime() + 14 * 60_000) })),
    ).toBeUndefined();
  });

  it('tells a missing, a malformed, an unknown and a mismatched signature apart', async () => {
    const good = await received();
    const { authorization: _, ...unsigned } = good.headers;
    const malformed = { ...good, headers: { ...good.headers, authorization: 'Bearer abc' } };
    const unknown = {
      ...good,
      headers: {
        ...good.headers,
        authorization: String(good.headers.authorization).replace(
          credentials.accessKeyId,
          'AKIAUNKNOWN000000000',
        ),
      },
    };
    const withToken = { ...good, headers: { ...good.headers, 'x-amz-security-token': 'token' } };

    expect((await verify({ ...good, headers: unsigned }))?.kind).toBe('missing');
    expect((await verify(malformed))?.kind).toBe('incomplete');
    expect((await verify(unknown))?.kind).toBe('unknown-key');
    expect((await verify(withToken))?.kind).toBe('unknown-key');
    expect((await verify(await received({ secret: newAwsCredentials().secretAccessKey })))?.kind).toBe(
      'mismatch',
    );
  });

  it('refuses a tampered body, path or query, a stale or future date, another service', async () => {
    const good = await received();
    const stale = await verify(await received({ signingDate: new Date(now.getTime() - 16 * 60_000) }));
    const future = await verify(await received({ signingDate: new Date(now.getTime() + 16 * 60_000) }));

    expect((await verify({ ...good, body: Buffer.from(`${body}&x=1`) }))?.kind).toBe('mismatch');
    expect((await verify({ ...good, url: good.url.replace('ListTopics', 'Subscribe') }))?.kind).toBe(
      'mismatch',
    );
    expect((await verify({ ...good, url: `/other${good.url}` }))?.kind).toBe('mismatch');
    expect(stale).toEqual({
      kind: 'mismatch',
      message:
        'Signature expired: 20261123T084400Z is now earlier than 20261123T084500Z (20261123T090000Z - 15 min.)',
    });
    expect(future?.message).toMatch(/^Signature not yet current/);
    expect((await verify(await received({ service: 'dynamodb' })))?.message).toContain(
      "correct service: 'sns'",
    );
  });

  it('refuses a declared payload hash that is not the body’s', async () => {
    const good = await received();
    const declared = {
      ...good,
      headers: { ...good.headers, 'x-amz-content-sha256': '0'.repeat(64) },
    };

    expect((await verify(declared))?.kind).toBe('mismatch');
  });
});

describe('the edge’s credentials in credentials.json', () => {
  it('are generated once and kept across restarts, in a private file', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-creds-'));
    const first = loadAwsCredentials(dataDir);
    saveCredentials(dataDir, { adminToken: 'a', viewerToken: 'v', devices: {}, aws: first });
    const second = loadAwsCredentials(dataDir);

    expect(second).toEqual(first);
    expect(first.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(first.secretAccessKey).toHaveLength(40);
    expect(statSync(join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')).aws).toEqual({
      ...first,
      region: 'us-east-1',
    });
  });

  it('are added to a file written before the edge required them, keeping its device keys', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-creds-'));
    writeFileSync(
      join(dataDir, 'credentials.json'),
      JSON.stringify({ adminToken: 'a', viewerToken: 'v', devices: { 'boiler-1': 'sbk_x' } }),
    );

    expect(loadCredentials(dataDir)?.devices).toEqual({ 'boiler-1': 'sbk_x' });
    expect(loadAwsCredentials(dataDir).accessKeyId).toMatch(/^AKIA/);
  });
});
