import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { principalContext, type SigningKeySource, verifyToken } from '../lib/auth.ts';

/**
 * An Allow policy for every method of the API's stage, so that API Gateway's authorizer cache
 * (keyed by the identity source) serves all routes
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
 */
export const allowAll = (
  principalId: string,
  methodArn: string,
  context: Record<string, string>,
): APIGatewayAuthorizerResult => {
  const [arnPrefix = methodArn, stage = '*'] = methodArn.split('/');
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*` }],
    },
    context,
  };
};

/** The message API Gateway turns into a 401 (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html). */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * A REQUEST authorizer that accepts a valid admin or viewer token found by `tokenOf`, and
 * passes the principal to the integration as context. A key that cannot be read is the
 * authorizer's failure (API Gateway answers 500), not the caller's: it is not turned into a 401.
 */
export const tokenAuthorizer =
  (signingKey: SigningKeySource, tokenOf: (event: APIGatewayRequestAuthorizerEvent) => string | undefined) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = tokenOf(event);
    if (!token) throw new Error(UNAUTHORIZED);
    const key = await signingKey();
    try {
      const principal = await verifyToken(key, token);
      return allowAll(principal.role, event.methodArn, principalContext(principal));
    } catch {
      throw new Error(UNAUTHORIZED);
    }
  };
