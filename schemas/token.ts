import * as z from 'zod';
import { DeviceId } from './common.ts';

export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 60 * 60;

/** Which devices a viewer may see: a list, or every device. */
export const DeviceScope = z.union([z.literal('*'), z.array(DeviceId).min(1).max(1000)]);
export type DeviceScope = z.infer<typeof DeviceScope>;

/** Body of `POST /tokens`. */
export const CreateTokenRequest = z
  .object({
    role: z.literal('viewer'),
    deviceIds: DeviceScope,
    ttlSeconds: z.number().int().min(60).max(MAX_TOKEN_TTL_SECONDS).optional(),
  })
  .strict();
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;
