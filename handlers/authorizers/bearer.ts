import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { bearerTokenOf, principalContext, verifyToken } from '../lib/auth.ts';
import { headerIn } from '../lib/http.ts';
import { loadSigningKey } from '../lib/signing-key.ts';
import { allowAll, UNAUTHORIZED } from './policy.ts';

/** REQUEST authorizer for people: `Authorization: Bearer <admin or viewer token>`. */
export const makeHandler =
  (signingKey: Uint8Array) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = bearerTokenOf(headerIn(event.headers, 'authorization'));
    if (!token) throw new Error(UNAUTHORIZED);
    try {
      const principal = await verifyToken(signingKey, token);
      return allowAll(principal.role, event.methodArn, principalContext(principal));
    } catch {
      throw new Error(UNAUTHORIZED);
    }
  };

export const handler = makeHandler(await loadSigningKey());
