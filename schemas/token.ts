import * as z from 'zod/mini';
import { DeviceId, Role } from './common.ts';

export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 60 * 60;

/** Which devices a token may see: a list, or every device. */
export const DeviceScope = /* @__PURE__ */ z.union([
  /* @__PURE__ */ z.literal('*'),
  /* @__PURE__ */ z.array(DeviceId).check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(1000)),
]);
export type DeviceScope = z.infer<typeof DeviceScope>;

/** Body of `POST /tokens`. */
export const CreateTokenRequest = /* @__PURE__ */ z.strictObject({
  role: Role,
  deviceIds: DeviceScope,
  ttlSeconds: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.int().check(/* @__PURE__ */ z.gte(60), /* @__PURE__ */ z.lte(MAX_TOKEN_TTL_SECONDS)),
  ),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;
