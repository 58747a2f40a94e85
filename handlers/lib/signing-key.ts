import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type SigningKeySource, signingKeyFrom } from './auth.ts';
import { sdkClientConfig } from './clients/config.ts';
import { requireEnv } from './env.ts';
import { readOnce } from './read-once.ts';

const secrets = new SecretsManagerClient(sdkClientConfig);
const secretId = requireEnv('TOKEN_SECRET_ID');

/** Reads the key from Secrets Manager (the secret `TOKEN_SECRET_ID` names holds the base64url key). */
const readSigningKey = async (): Promise<Uint8Array> => {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!secret.SecretString) throw new Error('The token signing secret has no string value');
  return signingKeyFrom(secret.SecretString);
};

/**
 * The HMAC key that signs bearer tokens, read from Secrets Manager by the first invocation that
 * needs it and kept for the execution environment's life (never from plain env). Read at init
 * (a top-level await), the GetSecretValue call and the client's first request (credentials,
 * endpoint, connection) were the largest part of the authorizers' and the tokens function's cold
 * start; the first request now pays them instead, once per environment, as before.
 */
export const cachedSigningKey: SigningKeySource = readOnce(readSigningKey);
