import { SubscribeCommand } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CreateAlertSubscriptionRequest } from '../../schemas/alert-subscription.ts';
import { principalOf, requireAdmin } from '../lib/auth.ts';
import { sns } from '../lib/clients/sns.ts';
import { requireEnv } from '../lib/env.ts';
import { json, parseJsonBody, validate, withErrors } from '../lib/http.ts';

const topicArn = requireEnv('ALERTS_TOPIC_ARN');

/**
 * The SNS filter policy of a subscription: the notifier sets `deviceId` and `severity` message
 * attributes on every alert (https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html).
 */
export const filterPolicyOf = (
  request: CreateAlertSubscriptionRequest,
): Record<string, string[]> | undefined => {
  const policy: Record<string, string[]> = {
    ...(request.deviceIds ? { deviceId: [...new Set(request.deviceIds)] } : {}),
    ...(request.severities ? { severity: [...new Set(request.severities)] } : {}),
  };
  return Object.keys(policy).length > 0 ? policy : undefined;
};

/** `POST /alert-subscriptions` (admin): subscribes an email address or https endpoint to alerts. */
export const handler = withErrors(async (event: APIGatewayProxyEvent) => {
  requireAdmin(principalOf(event));
  const request = validate(CreateAlertSubscriptionRequest, parseJsonBody(event));
  const policy = filterPolicyOf(request);
  const subscribed = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: request.protocol,
      Endpoint: request.endpoint,
      ReturnSubscriptionArn: true,
      ...(policy
        ? { Attributes: { FilterPolicy: JSON.stringify(policy), FilterPolicyScope: 'MessageAttributes' } }
        : {}),
    }),
  );
  return json(201, {
    subscriptionArn: subscribed.SubscriptionArn,
    ...(request.protocol === 'https' ? { pendingConfirmation: true } : {}),
  });
});
