import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger per function; the service name comes from `POWERTOOLS_SERVICE_NAME`. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorbus' });

/**
 * The keys that identify a reading in a log line. Its time goes under `readingTimestamp`:
 * `timestamp` is one of the Logger's reserved keys, and an extra key of that name is dropped
 * (https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#reserved-keys).
 */
export const readingLogKeys = (reading: { readonly deviceId: string; readonly timestamp: string }) => ({
  deviceId: reading.deviceId,
  readingTimestamp: reading.timestamp,
});
