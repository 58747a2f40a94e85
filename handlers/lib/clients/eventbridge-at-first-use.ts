import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { builtAtFirstUse } from '../../../schemas/built-at-first-use.ts';
import { sdkClientConfig } from './config.ts';

/**
 * The EventBridge client of a function that publishes on few of its invocations (a device's
 * deletion, an alert action, a silence found): created at the first publish and kept for the
 * execution environment's life, so that the cold starts of the other invocations do not build a
 * client they never call. A module of its own, apart from `eventbridge.ts` (the client created at
 * init, for the functions that publish on every invocation), so that importing one never creates
 * the other.
 */
export const eventBridgeAtFirstUse = builtAtFirstUse(() => new EventBridgeClient(sdkClientConfig));
