import { Logger } from '@aws-lambda-powertools/logger';
import { builtAtFirstUse } from '../../schemas/built-at-first-use.ts';

/**
 * The function's one structured logger (the service name comes from `POWERTOOLS_SERVICE_NAME`),
 * created by the first line logged and kept for the execution environment's life. The handlers
 * log only warnings and errors, so most environments never log; created at init, the Logger (its
 * options, and the `Console` it writes through, which opens `process.stdout` and `stderr`) was
 * part of every cold start of the functions that import it.
 */
export const logger: () => Logger = /* @__PURE__ */ builtAtFirstUse(
  () => new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorbus' }),
);

/**
 * The keys that identify a reading in a log line. Its time goes under `readingTimestamp`:
 * `timestamp` is one of the Logger's reserved keys, and an extra key of that name is dropped
 * (https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#reserved-keys).
 */
export const readingLogKeys = (reading: { readonly deviceId: string; readonly timestamp: string }) => ({
  deviceId: reading.deviceId,
  readingTimestamp: reading.timestamp,
});
