import { InvalidParameterException, SubscribeCommand } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CreateAlertSubscriptionRequest } from '../../schemas/alert-subscription.ts';
import { principalOf, requireAdmin } from '../lib/auth.ts';
import { sns } from '../lib/clients/sns.ts';
import { requireEnv } from '../lib/env.ts';
import { ConflictError } from '../lib/errors.ts';
import { json, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { type SubscribeDeps, subscribe } from './subscribe.ts';

/** `POST /alert-subscriptions` (admin): subscribes an email address or https endpoint to alerts. */
export const makeHandler = (deps: SubscribeDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    requireAdmin(principalOf(event));
    const request = validate(CreateAlertSubscriptionRequest, parseJsonBody(event));
    const subscription = await subscribe(request, deps);
    return json(201, {
      subscriptionArn: subscription.subscriptionArn,
      ...(subscription.pendingConfirmation ? { pendingConfirmation: true } : {}),
    });
  });

const topicArn = requireEnv('ALERTS_TOPIC_ARN');

/**
 * SNS refuses to subscribe an endpoint again with other attributes (here: another filter policy)
 * with `InvalidParameter` (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html); for the
 * caller that is a conflict with the subscription the endpoint already has, not a server error.
 */
const isSubscribedWithOtherAttributes = (error: unknown): boolean =>
  error instanceof InvalidParameterException &&
  /already exists with different attributes/.test(error.message);

export const liveSubscribeDeps = (): SubscribeDeps => ({
  subscribe: async ({ protocol, endpoint, filterPolicy }) => {
    const subscribed = await sns
      .send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: protocol,
          Endpoint: endpoint,
          ReturnSubscriptionArn: true,
          ...(filterPolicy
            ? {
                Attributes: {
                  FilterPolicy: JSON.stringify(filterPolicy),
                  FilterPolicyScope: 'MessageAttributes',
                },
              }
            : {}),
        }),
      )
      .catch((error: unknown) => {
        if (!isSubscribedWithOtherAttributes(error)) throw error;
        throw new ConflictError('This endpoint is already subscribed with other devices or severities', [
          { path: 'endpoint', message: 'is already subscribed with another filter; unsubscribe it first' },
        ]);
      });
    return subscribed.SubscriptionArn;
  },
});

export const handler = makeHandler(liveSubscribeDeps());
