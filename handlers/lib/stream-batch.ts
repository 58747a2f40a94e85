import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';

const AttributeMap = z.record(
  z.string(),
  z.custom<AttributeValue>((value) => typeof value === 'object'),
);

/**
 * The part of a DynamoDB stream event the readings table's consumers read
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
 */
export const StreamBatch = z.object({
  Records: z.array(
    z.object({
      eventName: z.optional(z.string()),
      dynamodb: z.optional(
        z.object({
          NewImage: z.optional(AttributeMap),
          OldImage: z.optional(AttributeMap),
          SequenceNumber: z.optional(z.string()),
        }),
      ),
    }),
  ),
});
export type StreamRecordLike = z.infer<typeof StreamBatch>['Records'][number];
