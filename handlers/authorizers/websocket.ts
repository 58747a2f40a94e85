import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { principalContext, verifyToken } from '../lib/auth.ts';
import { loadSigningKey } from '../lib/signing-key.ts';
import { allowAll, UNAUTHORIZED } from './policy.ts';

/**
 * REQUEST authorizer of the WebSocket `$connect`: browsers cannot set headers on a WebSocket,
 * so the viewer token travels in the `token` query parameter.
 */
export const makeHandler =
  (signingKey: Uint8Array) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = event.queryStringParameters?.token;
    if (!token) throw new Error(UNAUTHORIZED);
    try {
      const principal = await verifyToken(signingKey, token);
      return allowAll(principal.role, event.methodArn, principalContext(principal));
    } catch {
      throw new Error(UNAUTHORIZED);
    }
  };

export const handler = makeHandler(await loadSigningKey());
