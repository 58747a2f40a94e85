/**
 * A Lambda handler consuming a DynamoDB stream, for tests of the local event source mappings. It
 * writes each batch it receives to the sink table (in the order it received them), then misbehaves
 * as the first record asking for it says, by its new image's `fail` attribute: `throw` fails the
 * whole invocation every time; `report-once` reports that record in `batchItemFailures` the first
 * time this environment sees it.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';

export const STREAM_SINK_TABLE = 'stream-consumer-sink';

const StreamEvent = z.object({
  Records: z.array(
    z.object({
      eventID: z.string(),
      eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
      eventSourceARN: z.string(),
      dynamodb: z.object({
        SequenceNumber: z.string(),
        Keys: z.record(z.string(), z.unknown()),
        NewImage: z.record(z.string(), z.object({ S: z.string().optional() }).loose()).optional(),
      }),
    }),
  ),
});

const client = new DynamoDBClient({});
const reported = new Set<string>();
let invocations = 0;

export const handler = async (event: unknown) => {
  const { Records } = StreamEvent.parse(event);
  invocations += 1;
  const source = Records[0]?.eventSourceARN.split('/')[1] ?? 'unknown';
  await client.send(
    new PutItemCommand({
      TableName: STREAM_SINK_TABLE,
      Item: {
        pk: { S: source },
        sk: { S: `${String(Date.now()).padStart(15, '0')}-${String(invocations).padStart(8, '0')}` },
        event: { S: JSON.stringify(event) },
      },
    }),
  );
  for (const record of Records) {
    const fail = record.dynamodb.NewImage?.fail?.S;
    if (fail === 'throw')
      throw Object.assign(new Error('Cannot process this record'), { name: 'PoisonRecord' });
    if (fail === 'report-once' && !reported.has(record.eventID)) {
      reported.add(record.eventID);
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb.SequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
};
