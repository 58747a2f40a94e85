import type { SigningKeySource } from '../lib/auth.ts';
import { cachedSigningKey } from '../lib/signing-key.ts';
import { tokenAuthorizer } from './policy.ts';

/**
 * REQUEST authorizer of the WebSocket `$connect`: browsers cannot set headers on a WebSocket,
 * so the viewer token travels in the `token` query parameter.
 */
export const makeHandler = (signingKey: SigningKeySource) =>
  tokenAuthorizer(signingKey, (event) => event.queryStringParameters?.token ?? undefined);

export const handler = makeHandler(cachedSigningKey);
