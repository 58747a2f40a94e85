/**
 * Prints an admin bearer token for a deployed stage, signed with that stage's signing key, so the
 * first devices can be registered against the deployed API:
 *
 *   npx tsx infra/aws/mint-admin-token.ts --secret-id <secret ARN or name> [--ttl-seconds 3600]
 *
 * It reads the secret with the caller's AWS credentials (`secretsmanager:GetSecretValue`) and signs
 * with the same `signToken` the tokens handler uses; the key never leaves this process.
 */
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { signingKeyFrom, signToken } from '../../handlers/lib/auth.ts';

/** Admin tokens are meant for setting a stage up, not for living in scripts: a day at most. */
const MAX_TTL_SECONDS = 24 * 3600;

const usage = 'Usage: npx tsx infra/aws/mint-admin-token.ts --secret-id <arn|name> [--ttl-seconds 3600]';

const { values } = parseArgs({
  options: {
    'secret-id': { type: 'string' },
    'ttl-seconds': { type: 'string', default: '3600' },
  },
});
const secretId = values['secret-id'];
const ttlSeconds = Number(values['ttl-seconds']);
if (!secretId || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
  process.stderr.write(`${usage}\n(--ttl-seconds is an integer from 1 to ${MAX_TTL_SECONDS})\n`);
  process.exit(2);
}

const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
if (!secret.SecretString) {
  process.stderr.write(`Secret ${secretId} has no string value\n`);
  process.exit(1);
}
const { token, expiresAt } = await signToken(
  signingKeyFrom(secret.SecretString),
  { role: 'admin', deviceIds: '*' },
  ttlSeconds,
);
process.stderr.write(`Admin token, valid until ${expiresAt}:\n`);
process.stdout.write(`${token}\n`);
