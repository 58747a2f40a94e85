import { SNSClient } from '@aws-sdk/client-sns';
import { sdkClientConfig } from './config.ts';

/** The SNS client, created once per execution environment; see `dynamo.ts` on endpoints. */
export const sns = new SNSClient(sdkClientConfig);
