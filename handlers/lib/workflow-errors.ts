/**
 * Error names the enrichment workflow matches in `Retry`/`Catch` `ErrorEquals`. Lambda tasks throw
 * errors whose `name` is one of these (Step Functions reads a function error's type), and the ASL
 * file names them; a test checks the two agree.
 */
export const WorkflowErrors = {
  /** A dependency was briefly unavailable: retry with backoff. */
  Transient: 'TransientError',
  /** The input can never be enriched (a bad event): do not retry. */
  InvalidInput: 'InvalidEnrichmentInput',
  /** The reading's device is not registered. */
  DeviceNotFound: 'DeviceNotFound',
  /** PutEvents accepted the call but refused some entries. */
  PutEventsFailedEntries: 'PutEventsFailedEntries',
  /** The workflow gave up; the reading records why. */
  EnrichmentFailed: 'EnrichmentFailed',
} as const;

export type WorkflowErrorName = (typeof WorkflowErrors)[keyof typeof WorkflowErrors];

/** An error Step Functions can match by name. */
export class WorkflowError extends Error {
  constructor(name: WorkflowErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

const TRANSIENT_SDK_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
]);

/** Re-throws SDK throttling and outages as {@link WorkflowErrors.Transient} so the workflow retries them. */
export const asWorkflowError = (error: unknown): unknown => {
  if (
    error instanceof Error &&
    (TRANSIENT_SDK_ERRORS.has(error.name) ||
      TRANSIENT_SDK_ERRORS.has(String((error as { code?: unknown }).code)))
  ) {
    return new WorkflowError(WorkflowErrors.Transient, error.message, { cause: error });
  }
  return error;
};
