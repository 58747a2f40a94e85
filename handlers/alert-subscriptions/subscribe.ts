import type { CreateAlertSubscriptionRequest } from '../../schemas/alert-subscription.ts';

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

/** What the topic is asked for: a protocol, an endpoint, and the filter policy if any. */
export interface SubscriptionRequest {
  readonly protocol: CreateAlertSubscriptionRequest['protocol'];
  readonly endpoint: string;
  readonly filterPolicy: Record<string, string[]> | undefined;
}

/** Port of the subscribe use case: subscribes to the alerts topic and answers the subscription ARN. */
export interface SubscribeDeps {
  subscribe(request: SubscriptionRequest): Promise<string | undefined>;
}

export interface Subscription {
  readonly subscriptionArn: string | undefined;
  /** An https endpoint receives alerts only once it has confirmed the subscription. */
  readonly pendingConfirmation: boolean;
}

/** Subscribes an email address or https endpoint to the alerts of the devices and severities asked for. */
export const subscribe = async (
  request: CreateAlertSubscriptionRequest,
  deps: SubscribeDeps,
): Promise<Subscription> => ({
  subscriptionArn: await deps.subscribe({
    protocol: request.protocol,
    endpoint: request.endpoint,
    filterPolicy: filterPolicyOf(request),
  }),
  pendingConfirmation: request.protocol === 'https',
});
