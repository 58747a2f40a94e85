import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';

const AttributeMap = /* @__PURE__ */ z.record(
  /* @__PURE__ */ z.string(),
  z.custom<AttributeValue>((value) => typeof value === 'object'),
);

/**
 * The part of a DynamoDB stream event the readings table's consumers read
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
 */
export const StreamBatch = /* @__PURE__ */ z.object({
  Records: /* @__PURE__ */ z.array(
    /* @__PURE__ */ z.object({
      eventName: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
      dynamodb: /* @__PURE__ */ z.optional(
        /* @__PURE__ */ z.object({
          NewImage: /* @__PURE__ */ z.optional(AttributeMap),
          OldImage: /* @__PURE__ */ z.optional(AttributeMap),
          SequenceNumber: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
        }),
      ),
    }),
  ),
});
export type StreamRecordLike = z.infer<typeof StreamBatch>['Records'][number];
