import { bearerTokenOf, type SigningKeySource } from '../lib/auth.ts';
import { headerIn } from '../lib/http.ts';
import { cachedSigningKey } from '../lib/signing-key.ts';
import { tokenAuthorizer } from './policy.ts';

/** REQUEST authorizer for people: `Authorization: Bearer <admin or viewer token>`. */
export const makeHandler = (signingKey: SigningKeySource) =>
  tokenAuthorizer(signingKey, (event) => bearerTokenOf(headerIn(event.headers, 'authorization')));

export const handler = makeHandler(cachedSigningKey);
