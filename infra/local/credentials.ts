import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { newSigningKey } from '../../handlers/lib/auth.ts';

/** `<data dir>/credentials.json`, the contract's file for people and scripts to pick credentials from. */
export const Credentials = z.object({
  adminToken: z.string(),
  viewerToken: z.string(),
  devices: z.record(z.string(), z.string()),
});
export type Credentials = z.infer<typeof Credentials>;

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

export const loadCredentials = (dataDir: string): Credentials | undefined =>
  readJson(join(dataDir, 'credentials.json'), Credentials);

export const saveCredentials = (dataDir: string, credentials: Credentials): string => {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'credentials.json');
  writePrivate(file, credentials);
  return file;
};
