import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { tokenAuthorizer } from '../../../../handlers/authorizers/policy.ts';
import { bearerTokenOf, type SigningKeySource, signToken } from '../../../../handlers/lib/auth.ts';

const KEY = new Uint8Array(32).fill(7);
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:api-id/prod/GET/devices';

/** The bearer authorizer as `handlers/authorizers/bearer.ts` makes it, with the key source given. */
const makeHandler = (signingKey: SigningKeySource) =>
  tokenAuthorizer(signingKey, (event) => bearerTokenOf(event.headers?.Authorization));

const requestWith = (authorization: string | undefined) =>
  ({
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  }) as unknown as APIGatewayRequestAuthorizerEvent;

describe('a token authorizer', () => {
  it('asks for the signing key at each invocation, not when it is made', async () => {
    let asked = 0;
    const authorize = makeHandler(async () => {
      asked += 1;
      return KEY;
    });
    const { token } = await signToken(KEY, { role: 'viewer', deviceIds: ['boiler-1'] }, 300);

    const askedBefore = asked;
    const answer = await authorize(requestWith(`Bearer ${token}`));

    expect(askedBefore).toBe(0);
    expect(asked).toBe(1);
    expect(answer.principalId).toBe('viewer');
    expect(answer.context).toMatchObject({ role: 'viewer', deviceIds: '["boiler-1"]' });
  });

  it('refuses a token signed with another key as Unauthorized', async () => {
    const authorize = makeHandler(async () => KEY);
    const { token } = await signToken(new Uint8Array(32).fill(9), { role: 'admin', deviceIds: '*' }, 300);

    await expect(authorize(requestWith(`Bearer ${token}`))).rejects.toThrow(/^Unauthorized$/);
  });

  it('fails as itself, not as Unauthorized, when the signing key cannot be read', async () => {
    const authorize = makeHandler(async () => {
      throw new Error('Secrets Manager is unreachable');
    });
    const { token } = await signToken(KEY, { role: 'admin', deviceIds: '*' }, 300);

    await expect(authorize(requestWith(`Bearer ${token}`))).rejects.toThrow('Secrets Manager is unreachable');
  });
});
