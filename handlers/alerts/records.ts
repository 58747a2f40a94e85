import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AlertRecord, type TimelineEntry } from '../../schemas/alert-record.ts';
import type { AlertData } from '../../schemas/events.ts';
import { conditionHeld, getAttributes, indexQuery } from '../lib/dynamo.ts';
import { INDEX } from '../lib/table-indexes.ts';

/**
 * Who won the right to resolve an alert: its device (a reading or the silence check found it
 * recovered) or a person (by hand, or by deleting the device). Claimed once on the alert's record
 * before anyone announces `AlertResolved`, so exactly one `AlertResolved` exists per alert however
 * the two meet, and a retry of the winner finds its own claim.
 */
export type Resolver = 'device' | 'hand';

/** What an alert event tells the history: its detail-type, event id and data (any alert event's). */
export interface AlertEventRecord {
  readonly detailType: string;
  readonly eventId: string;
  readonly data: Readonly<Record<string, unknown>> & { alertId: string; time: string };
}

const detailsOf = (data: AlertData): Record<string, unknown> =>
  data.kind === 'threshold'
    ? {
        metric: data.metric,
        value: data.value,
        above: data.above,
        below: data.below,
        readingTimestamp: data.readingTimestamp,
      }
    : { expectedIntervalSeconds: data.expectedIntervalSeconds, lastSeen: data.lastSeen };

const timelineEntryOf = (event: AlertEventRecord): TimelineEntry => {
  const { data } = event;
  return {
    type: event.detailType,
    time: data.time,
    eventId: event.eventId,
    ...(typeof data.by === 'string' ? { by: data.by } : {}),
    ...(typeof data.until === 'string' ? { until: data.until } : {}),
    ...(typeof data.escalation === 'number' ? { escalation: data.escalation } : {}),
  };
};

/** An update's SET clauses from named values; `undefined` values are left out. */
const assignments = (fields: Record<string, unknown>) => {
  const defined = Object.entries(fields).filter(([, value]) => value !== undefined);
  return {
    sets: defined.map(([name]) => `#${name} = :${name}`),
    names: Object.fromEntries(defined.map(([name]) => [`#${name}`, name])),
    values: Object.fromEntries(defined.map(([name, value]) => [`:${name}`, value])),
  };
};

const isConditionFailure = (error: unknown): boolean => error instanceof ConditionalCheckFailedException;

/**
 * The alerts table's operations that never read a whole alert record: the claims and marks the
 * workflow and the schedules write, and the one attribute the notifier reads. A function that
 * needs no more (the alarm evaluation, the silence check, the notifier) takes this adapter, and
 * its bundle leaves out the record's schema ({@link AlertRecord}, with its timeline), which it
 * would otherwise build at init and never use.
 */
export const dynamoAlertMarks = (client: DynamoDBDocumentClient, tableName: string) => ({
  /** Until when the alert is snoozed, undefined when it never was: that one attribute, read as `get` reads the record. */
  async snoozedUntil(alertId: string): Promise<string | undefined> {
    const item = await getAttributes(client, tableName, { alertId }, ['snoozedUntil'], { consistent: true });
    return typeof item?.snoozedUntil === 'string' ? item.snoozedUntil : undefined;
  },

  /**
   * Claims an alert's resolution for its device ({@link Resolver}): `true` when the device holds
   * it (now or from an earlier attempt), `false` when a person resolved the alert first. The
   * claim may come before the history has recorded the alert's raise; it then creates the
   * record's key alone, which the raise completes.
   */
  claimForDevice: (alertId: string): Promise<boolean> =>
    conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { alertId },
          UpdateExpression: 'SET resolvedVia = :device',
          ConditionExpression: 'attribute_not_exists(resolvedVia) OR resolvedVia = :device',
          ExpressionAttributeValues: { ':device': 'device' },
        }),
      ),
    ),

  /** Records that escalation period `escalation` was notified; `false` when it (or a later one) already was. */
  markEscalated: (alertId: string, escalation: number, at: string): Promise<boolean> =>
    conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { alertId },
          UpdateExpression: 'SET escalation = :n, escalatedAt = :t',
          ConditionExpression: 'attribute_not_exists(escalation) OR escalation < :n',
          ExpressionAttributeValues: { ':n': escalation, ':t': at },
        }),
      ),
    ),
});

/**
 * Adapter over the alerts table. The history's writes converge whatever order the events of one
 * alert arrive in and change nothing when an event arrives twice (each event id is recorded once,
 * with its timeline entry); the lifecycle's writes are conditional, so a retried action finds
 * what the first attempt stored.
 */
export const dynamoAlerts = (client: DynamoDBDocumentClient, tableName: string) => {
  // A record holding only a device's resolution claim, whose raise the history has not recorded yet, is no alert yet.
  const parse = (item: Record<string, unknown> | undefined) =>
    item && item.deviceId !== undefined ? AlertRecord().parse(item) : undefined;

  const get = async (alertId: string): Promise<AlertRecord | undefined> =>
    parse(
      (await client.send(new GetCommand({ TableName: tableName, Key: { alertId }, ConsistentRead: true })))
        .Item,
    );

  /** A conditional update answering the record after it, or as it is when the condition did not hold. */
  const updateIf = async (
    alertId: string,
    fields: Record<string, unknown>,
    condition: string,
    conditionValues: Record<string, unknown>,
  ): Promise<AlertRecord | undefined> => {
    const { sets, names, values } = assignments(fields);
    try {
      const result = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { alertId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(alertId) AND ${condition}`,
          ExpressionAttributeNames: {
            ...names,
            ...(condition.includes('#state') ? { '#state': 'state' } : {}),
          },
          ExpressionAttributeValues: { ...values, ...conditionValues },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parse(result.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return get(alertId);
      throw error;
    }
  };

  return {
    ...dynamoAlertMarks(client, tableName),

    get,

    /**
     * Records one alert event: raised and resolved set the alert's fields, every event appends its
     * timeline entry. An event id already recorded changes nothing.
     */
    async record(event: AlertEventRecord, alert?: AlertData): Promise<void> {
      const entry = timelineEntryOf(event);
      const raised = event.detailType === 'AlertRaised' && alert;
      const resolved = event.detailType === 'AlertResolved' && alert;
      const fields = raised
        ? {
            deviceId: alert.deviceId,
            kind: alert.kind,
            severity: alert.severity,
            raisedAt: alert.time,
            ...detailsOf(alert),
          }
        : resolved
          ? {
              state: 'resolved',
              resolvedAt: alert.time,
              summary: alert.summary,
              updatedAt: alert.time,
              deviceId: alert.deviceId,
              kind: alert.kind,
              severity: alert.severity,
              resolvedBy: alert.by,
            }
          : {};
      const { sets, names, values } = assignments(fields);
      const firstSeen = raised
        ? [
            '#state = if_not_exists(#state, :active)',
            '#summary = if_not_exists(#summary, :summary)',
            '#updatedAt = if_not_exists(#updatedAt, :raisedAt)',
          ]
        : [];
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { alertId: event.data.alertId },
            UpdateExpression: `SET ${[...sets, ...firstSeen, '#timeline = list_append(if_not_exists(#timeline, :none), :entry)'].join(', ')} ADD #eventIds :eventIds`,
            ConditionExpression: 'NOT contains(#eventIds, :eventId)',
            ExpressionAttributeNames: {
              ...names,
              '#timeline': 'timeline',
              '#eventIds': 'eventIds',
              ...(raised ? { '#state': 'state', '#summary': 'summary', '#updatedAt': 'updatedAt' } : {}),
            },
            ExpressionAttributeValues: {
              ...values,
              ':none': [],
              ':entry': [entry],
              ':eventIds': new Set([event.eventId]),
              ':eventId': event.eventId,
              ...(raised ? { ':active': 'active', ':summary': alert.summary } : {}),
            },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    /** Records the first acknowledgement; a later one finds it and changes nothing. */
    acknowledge: (alertId: string, at: string, by: string) =>
      updateIf(
        alertId,
        { acknowledgedAt: at, acknowledgedBy: by },
        'attribute_not_exists(acknowledgedAt)',
        {},
      ),

    /** Snoozes an active alert until `until`. */
    snooze: (alertId: string, snooze: { until: string; at: string; by: string; request: string }) =>
      updateIf(
        alertId,
        {
          snoozedUntil: snooze.until,
          snoozedAt: snooze.at,
          snoozedBy: snooze.by,
          snoozeRequest: snooze.request,
        },
        '#state = :active',
        { ':active': 'active' },
      ),

    /**
     * Resolves an active alert by hand, claiming its resolution ({@link Resolver}) in the same
     * write; an alert its device claimed first is answered as it is, still active until the
     * device's `AlertResolved` is recorded.
     */
    resolveByHand: (alertId: string, at: string, by: string) =>
      updateIf(
        alertId,
        { state: 'resolved', resolvedAt: at, resolvedBy: by, updatedAt: at, resolvedVia: 'hand' },
        '#state = :active AND (attribute_not_exists(resolvedVia) OR resolvedVia = :hand)',
        { ':active': 'active', ':hand': 'hand' },
      ),

    /** Alerts newest first, of one device or in one state; `limit` undefined reads them all. */
    async query(
      by: { deviceId: string } | { state: 'active' | 'resolved' },
      limit?: number,
    ): Promise<AlertRecord[]> {
      const byDevice = 'deviceId' in by;
      const items: AlertRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const result = await client.send(
          new QueryCommand({
            ...(byDevice
              ? indexQuery(tableName, INDEX.alertsByDevice, 'deviceId', by.deviceId)
              : indexQuery(tableName, INDEX.alertsByState, 'state', by.state)),
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
            ...(limit !== undefined ? { Limit: limit - items.length } : {}),
          }),
        );
        items.push(...(result.Items ?? []).map((item) => AlertRecord().parse(item)));
        startKey = result.LastEvaluatedKey;
      } while (startKey && (limit === undefined || items.length < limit));
      return items;
    },
  };
};

export type AlertsStore = ReturnType<typeof dynamoAlerts>;
