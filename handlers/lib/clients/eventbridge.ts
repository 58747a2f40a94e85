import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { sdkClientConfig } from './config.ts';

/** The EventBridge client, created once per execution environment; see `dynamo.ts` on endpoints. */
export const eventBridge = new EventBridgeClient(sdkClientConfig);
