/**
 * What every SDK client of a handler is created with. `cacheMiddleware` resolves a client's
 * middleware stack once per command class instead of rebuilding and sorting it on every call
 * (https://github.com/smithy-lang/smithy-typescript/blob/main/packages/smithy-client/src/client.ts):
 * no handler changes a client's middleware after start-up, and rebuilding it was the largest
 * single cost of an SDK call in the ingest function's profile.
 */
export const sdkClientConfig = { cacheMiddleware: true } as const;
