import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { AlertData } from '../../schemas/events.ts';
import { INDEX } from '../lib/table-indexes.ts';

export const AlertRecord = z.object({
  alertId: z.string(),
  deviceId: z.string(),
  kind: z.enum(['threshold', 'silence']),
  severity: z.enum(['warning', 'critical']),
  state: z.enum(['active', 'resolved']),
  summary: z.string(),
  raisedAt: z.optional(z.string()),
  resolvedAt: z.optional(z.string()),
  updatedAt: z.string(),
  metric: z.optional(z.string()),
  value: z.optional(z.number()),
  above: z.optional(z.number()),
  below: z.optional(z.number()),
  expectedIntervalSeconds: z.optional(z.number()),
});
export type AlertRecord = z.infer<typeof AlertRecord>;

const detailsOf = (data: AlertData): Record<string, unknown> =>
  data.kind === 'threshold'
    ? { metric: data.metric, value: data.value, above: data.above, below: data.below }
    : { expectedIntervalSeconds: data.expectedIntervalSeconds };

/**
 * Adapter over the alerts table. Both writes are updates that converge whatever order the two
 * events of one alert arrive in, and that change nothing when an event arrives twice.
 */
export const dynamoAlerts = (client: DynamoDBDocumentClient, tableName: string) => ({
  async recordRaised(data: AlertData): Promise<void> {
    const fields = {
      deviceId: data.deviceId,
      kind: data.kind,
      severity: data.severity,
      raisedAt: data.time,
      ...detailsOf(data),
    };
    const defined = Object.entries(fields).filter(([, value]) => value !== undefined);
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { alertId: data.alertId },
        UpdateExpression: `SET ${defined.map(([name]) => `#${name} = :${name}`).join(', ')}, #state = if_not_exists(#state, :active), #summary = if_not_exists(#summary, :summary), #updatedAt = if_not_exists(#updatedAt, :raisedAt)`,
        ExpressionAttributeNames: {
          ...Object.fromEntries(defined.map(([name]) => [`#${name}`, name])),
          '#state': 'state',
          '#summary': 'summary',
          '#updatedAt': 'updatedAt',
        },
        ExpressionAttributeValues: {
          ...Object.fromEntries(defined.map(([name, value]) => [`:${name}`, value])),
          ':active': 'active',
          ':summary': data.summary,
        },
      }),
    );
  },

  async recordResolved(data: AlertData): Promise<void> {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { alertId: data.alertId },
        UpdateExpression:
          'SET #state = :resolved, resolvedAt = :t, #summary = :summary, updatedAt = :t, deviceId = :d, kind = :k, severity = :s',
        ExpressionAttributeNames: { '#state': 'state', '#summary': 'summary' },
        ExpressionAttributeValues: {
          ':resolved': 'resolved',
          ':t': data.time,
          ':summary': data.summary,
          ':d': data.deviceId,
          ':k': data.kind,
          ':s': data.severity,
        },
      }),
    );
  },

  /** Alerts newest first, of one device or in one state. */
  async query(
    by: { deviceId: string } | { state: 'active' | 'resolved' },
    limit: number,
  ): Promise<AlertRecord[]> {
    const byDevice = 'deviceId' in by;
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: byDevice ? INDEX.alertsByDevice : INDEX.alertsByState,
        KeyConditionExpression: '#pk = :v',
        ExpressionAttributeNames: { '#pk': byDevice ? 'deviceId' : 'state' },
        ExpressionAttributeValues: { ':v': byDevice ? by.deviceId : by.state },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => AlertRecord.parse(item));
  },
});
