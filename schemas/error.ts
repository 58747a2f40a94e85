import * as z from 'zod';

/** One problem with one field of a request; `path` is dotted (`readings.3.timestamp`), empty for the whole body. */
export const ErrorDetail = z.object({ path: z.string(), message: z.string() }).strict();
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/** Every non-2xx answer of the REST API has this body. */
export const ErrorBody = z
  .object({
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        details: z.array(ErrorDetail).optional(),
      })
      .strict(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;
