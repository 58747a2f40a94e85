import {
  GetSubscriptionAttributesCommand,
  InvalidParameterException,
  ListSubscriptionsByTopicCommand,
  NotFoundException,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import {
  type AlertSubscription,
  CreateAlertSubscriptionRequest,
  SubscriptionId,
} from '../../schemas/alert-subscription.ts';
import { principalOf, requireAdmin } from '../lib/auth.ts';
import { sns } from '../lib/clients/sns.ts';
import { requireEnv } from '../lib/env.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { json, noContent, parseJsonBody, validate, withErrors } from '../lib/http.ts';
import { type SubscribeDeps, subscribe } from './subscribe.ts';

/** Ports of listing and ending subscriptions; adapters below. */
export interface SubscriptionsDeps extends SubscribeDeps {
  list(): Promise<AlertSubscription[]>;
  /** Ends a subscription; `false` when there is no such subscription. */
  unsubscribe(subscriptionId: string): Promise<boolean>;
}

/**
 * Alert subscriptions (admin): `POST /alert-subscriptions` subscribes an email address or https
 * endpoint, `GET` lists the topic's subscriptions, `DELETE /alert-subscriptions/{id}` ends one.
 */
export const makeHandler = (deps: SubscriptionsDeps) =>
  withErrors(async (event: APIGatewayProxyEvent) => {
    requireAdmin(principalOf(event));
    const route = `${event.httpMethod} ${event.resource}`;
    switch (route) {
      case 'POST /alert-subscriptions': {
        const request = validate(CreateAlertSubscriptionRequest, parseJsonBody(event));
        const subscription = await subscribe(request, deps);
        return json(201, {
          subscriptionArn: subscription.subscriptionArn,
          ...(subscription.pendingConfirmation ? { pendingConfirmation: true } : {}),
        });
      }
      case 'GET /alert-subscriptions':
        return json(200, { items: await deps.list() });
      case 'DELETE /alert-subscriptions/{subscriptionId}': {
        const id = validate(SubscriptionId, event.pathParameters?.subscriptionId, ['subscriptionId']);
        if (!(await deps.unsubscribe(id))) throw new NotFoundError(`Subscription ${id} does not exist`);
        return noContent();
      }
      default:
        throw new NotFoundError(`No route ${route}`);
    }
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

/** An SNS ARN a subscription not yet confirmed is listed with (https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html). */
const PENDING = 'PendingConfirmation';

const FilterPolicy = z.object({
  deviceId: z.optional(z.array(z.string())),
  severity: z.optional(z.array(z.string())),
});

/** The filters of a subscription, read back from its filter policy. */
const filtersOf = async (subscriptionArn: string) => {
  const answer = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }));
  const text = answer.Attributes?.FilterPolicy;
  if (!text) return {};
  const policy = FilterPolicy.safeParse(JSON.parse(text));
  if (!policy.success) return {};
  return {
    ...(policy.data.deviceId ? { deviceIds: policy.data.deviceId } : {}),
    ...(policy.data.severity ? { severities: policy.data.severity } : {}),
  };
};

export const liveSubscriptionsDeps = (): SubscriptionsDeps => ({
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
  list: async () => {
    const items: AlertSubscription[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: nextToken }),
      );
      for (const subscription of page.Subscriptions ?? []) {
        const arn = subscription.SubscriptionArn ?? PENDING;
        const pending = arn === PENDING;
        items.push({
          ...(pending ? {} : { subscriptionId: arn.slice(topicArn.length + 1) }),
          subscriptionArn: arn,
          protocol: subscription.Protocol ?? '',
          endpoint: subscription.Endpoint ?? '',
          pendingConfirmation: pending,
          ...(pending ? {} : await filtersOf(arn)),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return items;
  },
  unsubscribe: async (subscriptionId) => {
    const subscriptionArn = `${topicArn}:${subscriptionId}`;
    try {
      await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }));
    } catch (error) {
      if (error instanceof NotFoundException) return false;
      throw error;
    }
    await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
    return true;
  },
});

export const handler = makeHandler(liveSubscriptionsDeps());
