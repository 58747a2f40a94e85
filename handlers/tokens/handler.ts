import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CreateTokenRequest, DEFAULT_TOKEN_TTL_SECONDS } from '../../schemas/token.ts';
import { principalOf, requireAdmin, type SigningKeySource, signToken } from '../lib/auth.ts';
import { json, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { cachedSigningKey } from '../lib/signing-key.ts';

/** `POST /tokens` (admin): issues a viewer token for some devices or all of them. */
export const makeHandler = (signingKey: SigningKeySource, now: () => Date) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    requireAdmin(principalOf(event));
    const request = validate(CreateTokenRequest, parseJsonBody(event));
    const issued = await signToken(
      await signingKey(),
      { role: request.role, deviceIds: request.deviceIds },
      request.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
      now(),
    );
    return json(201, issued);
  });

export const handler = makeHandler(cachedSigningKey, () => new Date());
