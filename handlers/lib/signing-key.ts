import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { signingKeyFrom } from './auth.ts';
import { sdkClientConfig } from './clients/config.ts';
import { requireEnv } from './env.ts';

const secrets = new SecretsManagerClient(sdkClientConfig);

/**
 * The HMAC key that signs bearer tokens, read once per execution environment from Secrets
 * Manager (the secret `TOKEN_SECRET_ID` names holds the base64url key), never from plain env.
 */
export const loadSigningKey = async (): Promise<Uint8Array> => {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: requireEnv('TOKEN_SECRET_ID') }));
  if (!secret.SecretString) throw new Error('The token signing secret has no string value');
  return signingKeyFrom(secret.SecretString);
};
