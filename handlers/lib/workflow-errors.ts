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
  /** The workflow gave up; the reading records why and the dead-letter queue holds the event. */
  EnrichmentFailed: 'EnrichmentFailed',
  /** The workflow gave up and could not park the event in the dead-letter queue either. */
  EnrichmentNotParked: 'EnrichmentNotParked',
} as const;

/**
 * Errors of the workflow's service integrations that may pass if the task is tried again, by
 * integration, as Step Functions names them (`<Service>.<Exception>`). Each Task retries its
 * integration's list and {@link RetryableErrors.timeouts} with backoff; anything else goes straight
 * to the failure path. A test checks every Task of the ASL against these lists.
 */
export const RetryableErrors = {
  /**
   * Lambda's transient service errors, its throttle, and unhandled function errors (out of memory,
   * crashes), plus our own {@link WorkflowErrors.Transient}
   * (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
   */
  lambda: [
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
    'Lambda.Unknown',
    WorkflowErrors.Transient,
  ],
  /** DynamoDB throttles and internal errors (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html). */
  dynamodb: [
    'DynamoDB.ProvisionedThroughputExceededException',
    'DynamoDB.ThrottlingException',
    'DynamoDB.InternalServerErrorException',
    'DynamoDB.RequestLimitExceeded',
  ],
  /** PutEvents failing as a whole (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html). */
  eventbridge: [
    'EventBridge.InternalException',
    'EventBridge.ThrottlingException',
    'EventBridge.SdkClientException',
  ],
  /** SendMessage failing as a whole. */
  sqs: ['SQS.SdkClientException', 'SQS.AmazonSQSException'],
  /**
   * A task that did not answer within its `TimeoutSeconds` (`States.Timeout`), or a function that
   * ran out of time (`Sandbox.Timedout`, as Lambda reports a function timeout).
   */
  timeouts: ['States.Timeout', 'Sandbox.Timedout'],
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
