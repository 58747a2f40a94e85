import type { Context } from 'aws-lambda';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** What an execution environment knows of its function. */
export interface EnvironmentSpec {
  readonly functionName: string;
  readonly functionArn: string;
  /** Handler module (file URL); it exports `handler`. */
  readonly entry: string;
  readonly memoryMb: number;
}

/**
 * A fresh Lambda context per invocation, whose remaining time counts down to the deadline the
 * runtime enforces (`Lambda-Runtime-Deadline-Ms`,
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html).
 */
export const contextFor = (spec: EnvironmentSpec, requestId: string, deadlineMs: number): Context => {
  const deployedName = spec.functionArn.slice(spec.functionArn.lastIndexOf(':') + 1);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: deployedName,
    functionVersion: '$LATEST',
    invokedFunctionArn: spec.functionArn,
    memoryLimitInMB: String(spec.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${deployedName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
};
