import * as z from 'zod/mini';
import { Role } from '../../schemas/common.ts';
import { DeviceScope } from '../../schemas/token.ts';
import type { Principal } from '../lib/auth.ts';

/**
 * The parts of an API Gateway WebSocket proxy event the handlers use; the `$connect`
 * authorizer's context comes with every later message of the connection
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
 */
export const WebSocketEvent = z.object({
  requestContext: z.object({
    routeKey: z.string(),
    connectionId: z.string(),
    eventType: z.enum(['CONNECT', 'MESSAGE', 'DISCONNECT']),
    authorizer: z.optional(
      z.looseObject({
        role: Role,
        deviceIds: z.pipe(
          z.string(),
          z.transform((text, ctx) => {
            const parsed = DeviceScope.safeParse(JSON.parse(text));
            if (parsed.success) return parsed.data;
            ctx.issues.push({ code: 'custom', message: 'invalid device scope', input: text });
            return z.NEVER;
          }),
        ),
      }),
    ),
  }),
  body: z.nullish(z.string()),
});
export type WebSocketEvent = z.infer<typeof WebSocketEvent>;

export const principalOfConnection = (event: WebSocketEvent): Principal | undefined => {
  const authorizer = event.requestContext.authorizer;
  return authorizer ? { role: authorizer.role, deviceIds: authorizer.deviceIds } : undefined;
};
