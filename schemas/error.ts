import * as z from 'zod/mini';

/** One problem with one field of a request; `path` is dotted (`readings.3.timestamp`), empty for the whole body. */
export const ErrorDetail = z.strictObject({ path: z.string(), message: z.string() });
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/** Every non-2xx answer of the REST API has this body; `details` is empty when no field is to blame. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.array(ErrorDetail),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
