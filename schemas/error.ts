import * as z from 'zod/mini';

/** One problem with one field of a request; `path` is dotted (`readings.3.timestamp`), empty for the whole body. */
export const ErrorDetail = /* @__PURE__ */ z.strictObject({
  path: /* @__PURE__ */ z.string(),
  message: /* @__PURE__ */ z.string(),
});
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/**
 * What went wrong, as `ErrorBody.error` and a refused reading of a batch carry it; `details` is
 * empty when no field is to blame. Named, so that schemas reusing it need not read
 * `ErrorBody.shape.error`, a property read esbuild keeps (and builds at init) in every bundle.
 */
export const ErrorInfo = /* @__PURE__ */ z.strictObject({
  code: /* @__PURE__ */ z.string(),
  message: /* @__PURE__ */ z.string(),
  details: /* @__PURE__ */ z.array(ErrorDetail),
});

/** Every non-2xx answer of the REST API has this body. */
export const ErrorBody = /* @__PURE__ */ z.strictObject({ error: ErrorInfo });
export type ErrorBody = z.infer<typeof ErrorBody>;
