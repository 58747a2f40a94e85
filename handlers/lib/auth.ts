import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import * as z from 'zod/mini';
import { Role } from '../../schemas/common.ts';
import { DeviceScope } from '../../schemas/token.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';

export type { Role } from '../../schemas/common.ts';

/** Who is calling, as the bearer authorizer established it. */
export interface Principal {
  readonly role: Role;
  readonly deviceIds: '*' | readonly string[];
  /** The token's `jti`: names who acted on an alert (tokens issued before roles carried none). */
  readonly tokenId?: string;
}

const ISSUER = 'sensorbus';
const ALGORITHM = 'HS256';

const Claims = /* @__PURE__ */ z.object({
  role: Role,
  devices: DeviceScope,
  jti: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
});

/** Where a handler gets the HMAC key that signs bearer tokens: a port, so tests hand one in. */
export type SigningKeySource = () => Promise<Uint8Array>;

/** Decodes the base64url HMAC key that signs bearer tokens (32 random bytes, generated at set-up). */
export const signingKeyFrom = (encoded: string): Uint8Array => {
  const key = Buffer.from(encoded, 'base64url');
  if (key.length < 32) throw new Error('The token signing key must be at least 32 bytes');
  return new Uint8Array(key);
};

export const newSigningKey = (): string => randomBytes(32).toString('base64url');

/** Signs an admin, operator or viewer token with jose (HS256, RFC 7519), with a fresh `jti` naming it. */
export const signToken = async (
  key: Uint8Array,
  principal: Principal,
  ttlSeconds: number,
  now: Date = new Date(),
): Promise<{ token: string; expiresAt: string }> => {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + ttlSeconds;
  const token = await new SignJWT({ role: principal.role, devices: principal.deviceIds })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(principal.role)
    .setJti(principal.tokenId ?? randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
};

/** Verifies signature, issuer and expiry; any failure is a 401 that says why without leaking the token. */
export const verifyToken = async (key: Uint8Array, token: string): Promise<Principal> => {
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: [ALGORITHM] });
    const claims = Claims.parse(payload);
    return {
      role: claims.role,
      deviceIds: claims.devices,
      ...(claims.jti !== undefined ? { tokenId: claims.jti } : {}),
    };
  } catch (cause) {
    if (cause instanceof joseErrors.JWTExpired) throw new UnauthorizedError('The bearer token has expired');
    throw new UnauthorizedError('The bearer token is not valid');
  }
};

/** Extracts `<token>` from `Authorization: Bearer <token>`. */
export const bearerTokenOf = (authorization: string | undefined): string | undefined => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
};

/** Authorizer context values must be strings, numbers or booleans, so the scope travels as JSON. */
export const principalContext = (principal: Principal): Record<string, string> => ({
  role: principal.role,
  deviceIds: JSON.stringify(principal.deviceIds),
  ...(principal.tokenId !== undefined ? { tokenId: principal.tokenId } : {}),
});

const PrincipalContext = /* @__PURE__ */ z.object({
  role: Role,
  tokenId: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  deviceIds: /* @__PURE__ */ z.pipe(
    /* @__PURE__ */ z.string(),
    /* @__PURE__ */ z.transform((text, ctx) => {
      const parsed = DeviceScope.safeParse(JSON.parse(text));
      if (!parsed.success) {
        ctx.issues.push({ code: 'custom', message: 'invalid device scope', input: text });
        return z.NEVER;
      }
      return parsed.data;
    }),
  ),
});

/** The principal the bearer authorizer attached to the request. */
export const principalOf = (event: APIGatewayProxyEvent): Principal => {
  const parsed = PrincipalContext.safeParse(event.requestContext.authorizer ?? {});
  if (!parsed.success) throw new UnauthorizedError();
  const { role, deviceIds, tokenId } = parsed.data;
  return { role, deviceIds, ...(tokenId !== undefined ? { tokenId } : {}) };
};

/** Roles in order of power: each may do everything the ones before it may. */
const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** 403 unless the principal's role is `role` or above it (`admin` ⊃ `operator` ⊃ `viewer`). */
export const requireRole = (principal: Principal, role: Role): void => {
  if (RANK[principal.role] < RANK[role]) throw new ForbiddenError(`This call needs an ${role} token`);
};

export const requireAdmin = (principal: Principal): void => requireRole(principal, 'admin');

/** Who acted, as alert lifecycle events record it: `operator/<token id>`. */
export const actorOf = (principal: Principal): string => `${principal.role}/${principal.tokenId ?? 'token'}`;

export const canSee = (principal: Principal, deviceId: string): boolean =>
  principal.role === 'admin' || principal.deviceIds === '*' || principal.deviceIds.includes(deviceId);

export const requireDevice = (principal: Principal, deviceId: string): void => {
  if (!canSee(principal, deviceId))
    throw new ForbiddenError(`This token does not grant access to device ${deviceId}`);
};

/** Device API keys: 32 random bytes, shown once; only their SHA-256 is stored (high-entropy keys need no slow hash). */
export const newApiKey = (): string => `sbk_${randomBytes(32).toString('base64url')}`;

export const hashApiKey = (apiKey: string): string =>
  createHash('sha256').update(apiKey, 'utf8').digest('hex');
