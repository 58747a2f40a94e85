import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod/mini';
import { ReadingRecorded } from '../../schemas/events.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { optionalNumberEnv, requireEnv } from '../lib/env.ts';
import { asWorkflowError, WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';
import { DEFAULT_WINDOW, type DeriveDeps, derive, type EnrichedReading } from './derive.ts';

const readingsTable = requireEnv('READINGS_TABLE');

const Input = z.object({ reading: ReadingRecorded.data });

/** DynamoDB stores no number smaller than 1e-130 in size: such derived values are stored as 0. */
const storableNumbers = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'number' && Math.abs(v) < 1e-130 ? 0 : v,
  ) as T;

/**
 * Task `DeriveMetrics` of the enrich-reading workflow: derived metrics of one reading, plus the
 * same as a DynamoDB attribute value so the next state can store it with a service integration.
 */
export const makeHandler =
  (deps: DeriveDeps) =>
  async (event: unknown): Promise<{ enrichment: EnrichedReading; attribute: unknown }> => {
    const input = Input.safeParse(event);
    if (!input.success) throw new WorkflowError(WorkflowErrors.InvalidInput, input.error.message);
    try {
      const enrichment = await derive(input.data.reading, deps);
      const attribute = marshall(storableNumbers(enrichment), {
        removeUndefinedValues: true,
        convertClassInstanceToMap: true,
        allowImpreciseNumbers: true,
      });
      return { enrichment, attribute: { M: attribute } };
    } catch (error) {
      throw asWorkflowError(error);
    }
  };

const HistoryItems = z.array(z.object({ timestamp: z.string(), metrics: z.record(z.string(), z.number()) }));

export const liveDeriveDeps = (): DeriveDeps => ({
  history: async (deviceId, timestamp, limit) => {
    const result = await dynamo.send(
      new QueryCommand({
        TableName: readingsTable,
        KeyConditionExpression: 'deviceId = :d AND #t < :t',
        ExpressionAttributeNames: { '#t': 'timestamp', '#m': 'metrics' },
        ExpressionAttributeValues: { ':d': deviceId, ':t': timestamp },
        ProjectionExpression: '#t, #m',
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return HistoryItems.parse(result.Items ?? []);
  },
  window: optionalNumberEnv('ENRICHMENT_WINDOW', DEFAULT_WINDOW),
});

export const handler = makeHandler(liveDeriveDeps());
