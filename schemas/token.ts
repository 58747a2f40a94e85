import * as z from 'zod/mini';
import { DeviceId, Role } from './common.ts';

export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 60 * 60;

/** Which devices a token may see: a list, or every device. */
export const DeviceScope = z.union([
  z.literal('*'),
  z.array(DeviceId).check(z.minLength(1), z.maxLength(1000)),
]);
export type DeviceScope = z.infer<typeof DeviceScope>;

/** Body of `POST /tokens`. */
export const CreateTokenRequest = z.strictObject({
  role: Role,
  deviceIds: DeviceScope,
  ttlSeconds: z.optional(z.int().check(z.gte(60), z.lte(MAX_TOKEN_TTL_SECONDS))),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;
