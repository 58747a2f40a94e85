import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { aggregateReadings } from '../../../../handlers/lib/rollups.ts';
import { dynamoRollups, paddedSequence, rollupItem } from '../../../../handlers/lib/rollups-store.ts';

const BUCKET = { deviceId: 'd1', size: '1h', start: '2026-11-23T09:00:00.000Z' } as const;
const RETENTION_DAYS = 400;
const reading = (minute: number, t: number, sequence: number) => ({
  timestamp: `2026-11-23T09:${String(minute).padStart(2, '0')}:00.000Z`,
  metrics: { t },
  sequence: paddedSequence(String(sequence)),
});
/** The bucket as stored after the readings given. */
const storedAfter = (readings: ReturnType<typeof reading>[]) =>
  rollupItem(
    BUCKET,
    aggregateReadings(readings, {}),
    readings.reduce((latest, r) => (r.sequence > latest ? r.sequence : latest), ''),
    RETENTION_DAYS,
  );

/**
 * A table of one rollup item behind a document client: what it answers each read (an eventually
 * consistent one may be the item as it was before the last write), and a conditional write that
 * DynamoDB refuses when `appliedThrough` is not what the writer read.
 */
const table = (current: ReturnType<typeof storedAfter>, stale: ReturnType<typeof storedAfter>) => {
  let item = current;
  const reads: boolean[] = [];
  const client = {
    async send(command: unknown) {
      if (command instanceof GetCommand) {
        reads.push(command.input.ConsistentRead === true);
        return { Item: command.input.ConsistentRead ? item : stale };
      }
      if (command instanceof PutCommand) {
        const seen = command.input.ExpressionAttributeValues?.[':seen'];
        if (seen !== item.appliedThrough)
          throw new ConditionalCheckFailedException({
            message: 'The conditional request failed',
            $metadata: {},
          });
        item = command.input.Item as typeof item;
        return {};
      }
      throw new Error('Unexpected command');
    },
  };
  return {
    store: dynamoRollups(client as unknown as DynamoDBDocumentClient, 'rollups'),
    reads,
    item: () => item,
  };
};

describe('dynamoRollups.apply', () => {
  it('reads eventually consistent first; over a stale read its write is refused, and it reads again strongly consistent', async () => {
    const earlier = [reading(0, 10, 1)];
    const written = [...earlier, reading(5, 30, 2)];
    const t = table(storedAfter(written), storedAfter(earlier));

    const outcome = await t.store.apply({ ...BUCKET, readings: [reading(10, 20, 3)] }, RETENTION_DAYS);

    expect(outcome).toBe('applied');
    expect(t.reads).toEqual([false, true]);
    // All three readings counted once: none lost to the stale read, none counted twice.
    expect(t.item()).toEqual(storedAfter([...written, reading(10, 20, 3)]));
  });

  it('needs one eventually consistent read when what it read is current', async () => {
    const current = storedAfter([reading(0, 10, 1)]);
    const t = table(current, current);

    await t.store.apply({ ...BUCKET, readings: [reading(5, 30, 2)] }, RETENTION_DAYS);

    expect(t.reads).toEqual([false]);
  });
});
