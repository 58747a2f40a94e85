import { SNSClient } from '@aws-sdk/client-sns';

/** The SNS client, created once per execution environment; see `dynamo.ts` on endpoints. */
export const sns = new SNSClient({});
