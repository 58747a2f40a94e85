import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { newSigningKey } from '../../handlers/lib/auth.ts';
import { LOCAL_REGION } from './arns.ts';

/** The access key the local edge accepts SigV4 signatures from, and the region to sign for. */
export const AwsCredentials = z.object({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(40),
  region: z.literal(LOCAL_REGION),
});
export type AwsCredentials = z.infer<typeof AwsCredentials>;

/** `<data dir>/credentials.json`, the contract's file for people and scripts to pick credentials from. */
export const Credentials = z.object({
  adminToken: z.string(),
  viewerToken: z.string(),
  devices: z.record(z.string(), z.string()),
  aws: AwsCredentials,
});
export type Credentials = z.infer<typeof Credentials>;

/** A file written before the edge required signatures has no `aws`; its device keys still count. */
const StoredCredentials = Credentials.extend({ aws: AwsCredentials.optional().catch(undefined) });

const Secrets = z.object({ tokenSigningKey: z.string().min(43) });

const readJson = <T extends z.ZodType>(file: string, schema: T): z.infer<T> | undefined => {
  if (!existsSync(file)) return undefined;
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
};

const writePrivate = (file: string, value: unknown) => {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
};

/**
 * The key that signs bearer tokens: generated once, kept in `<data dir>/secrets.json` so tokens
 * survive restarts; a fresh one per run when nothing is persisted.
 */
export const loadSigningKey = (dataDir: string, persist: boolean): string => {
  const file = join(dataDir, 'secrets.json');
  if (!persist) return newSigningKey();
  const existing = readJson(file, Secrets);
  if (existing) return existing.tokenSigningKey;
  mkdirSync(dataDir, { recursive: true });
  const tokenSigningKey = newSigningKey();
  writePrivate(file, { tokenSigningKey });
  return tokenSigningKey;
};

export const loadCredentials = (dataDir: string): z.infer<typeof StoredCredentials> | undefined =>
  readJson(join(dataDir, 'credentials.json'), StoredCredentials);

/**
 * A fresh access key in AWS's shapes: a 20-character id starting `AKIA` (so tools that check the
 * prefix accept it) and a 40-character secret.
 */
export const newAwsCredentials = (): AwsCredentials => ({
  accessKeyId: `AKIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
  secretAccessKey: randomBytes(30).toString('base64'),
  region: LOCAL_REGION,
});

/**
 * The edge's credentials: those already in `<data dir>/credentials.json`, so shells and tools set
 * up with them keep working across restarts (with `--in-memory` too, since that file is always
 * written), or new ones.
 */
export const loadAwsCredentials = (dataDir: string): AwsCredentials =>
  loadCredentials(dataDir)?.aws ?? newAwsCredentials();

export const saveCredentials = (dataDir: string, credentials: Credentials): string => {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'credentials.json');
  writePrivate(file, credentials);
  return file;
};
