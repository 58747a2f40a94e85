/**
 * What every deployed function bundles in place of `@smithy/core/event-streams`. The SDK's
 * protocol classes import that module dynamically, and only to serialise an operation whose input
 * or output is an event stream (Lambda's InvokeWithResponseStream, Bedrock's streaming calls).
 * None of the clients the handlers use (DynamoDB, EventBridge, SNS, Secrets Manager, API Gateway
 * Management API) has such an operation, yet esbuild bundles a dynamic import like any other:
 * about 15 KiB of every function's bundle. A client with event-stream operations imports the module
 * statically from its runtime config; `test/unit/infra/aws/function-bundles.test.ts` fails if such
 * a client enters a bundle, and reaching this module by mistake fails loudly instead of corrupting
 * a stream.
 */
const unbundled = (): never => {
  throw new Error('Event streams are not bundled into sensorbus functions (infra/aws/function-bundle.ts)');
};

export class EventStreamSerde {
  constructor() {
    unbundled();
  }
}

export const eventStreamSerdeProvider = unbundled;
