import { dynamo } from '../lib/clients/dynamo.ts';
import { requireEnv, requirePositiveNumberEnv } from '../lib/env.ts';
import { logger } from '../lib/logger.ts';
import { dynamoRollups } from '../lib/rollups-store.ts';
import { applyBatch, type RollupDeps, StreamBatch } from './rollup.ts';

/**
 * The readings table's stream consumer: keeps each device's rollups as readings arrive, answering
 * Lambda's partial batch response (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
 */
export const makeHandler = (deps: RollupDeps) => async (event: unknown) =>
  applyBatch(StreamBatch.parse(event).Records, deps);

export const handler = makeHandler({
  rollups: dynamoRollups(dynamo, requireEnv('ROLLUPS_TABLE')),
  retentionDays: requirePositiveNumberEnv('ROLLUPS_RETENTION_DAYS'),
  onFailure: (contribution, error) =>
    logger().error('Rollup not updated; the batch is retried from its earliest reading', {
      deviceId: contribution.deviceId,
      size: contribution.size,
      bucketStart: contribution.start,
      error: error instanceof Error ? error : String(error),
    }),
});
