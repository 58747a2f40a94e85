import {
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
} from '@aws-sdk/client-eventbridge';
import type { StreamEventSource } from '../../local-cloud/emulators/dynamodb/stream-event-source.ts';
import { type EdgeAccess, edgeClientConfig } from '../support/local-cloud.ts';

/** A hard cap on the pages of rules read. */
const MAX_PAGES = 100;

/** Rules the bench disabled could not be enabled again: what it measures next would be wrong. */
export class RulesNotRestoredError extends Error {
  override readonly name = 'RulesNotRestoredError';
}

/**
 * Runs `measure` with every enabled rule of a bus disabled through the edge's EventBridge API, as
 * an operator would with `aws events disable-rule`
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DisableRule.html), then enables
 * them again: events are still accepted on the bus, but no consumer receives them. The local cloud
 * runs every consumer (functions, workflows, buses) on the thread that also serves ingest, so this
 * is how the bench measures the ingest path on its own.
 */
export const withRulesDisabled = async <T>(
  edge: EdgeAccess,
  busName: string,
  measure: () => Promise<T>,
): Promise<T> => {
  const client = new EventBridgeClient(edgeClientConfig(edge));
  const disabled: string[] = [];
  const restore = async () => {
    try {
      for (const name of disabled) {
        await client.send(new EnableRuleCommand({ Name: name, EventBusName: busName }));
      }
    } catch (cause) {
      throw new RulesNotRestoredError(`rules of ${busName} left disabled: ${disabled.join(', ')}`, { cause });
    }
  };
  try {
    let result: T;
    try {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const listed = await client.send(
          new ListRulesCommand({ EventBusName: busName, NextToken: nextToken }),
        );
        for (const rule of listed.Rules ?? []) {
          if (!rule.Name || rule.State === 'DISABLED') continue;
          await client.send(new DisableRuleCommand({ Name: rule.Name, EventBusName: busName }));
          disabled.push(rule.Name);
        }
        nextToken = listed.NextToken;
        if (!nextToken) break;
      }
      result = await measure();
    } catch (error) {
      await restore();
      throw error;
    }
    await restore();
    return result;
  } finally {
    client.destroy();
  }
};

/**
 * Runs `measure` with the stream mappings of `functionNames` disabled, as an operator would with
 * `aws lambda update-event-source-mapping --no-enabled`: their records stay in the stream, and
 * they consume them once enabled again, after `measure`.
 */
export const withStreamConsumersPaused = async <T>(
  mappings: Pick<StreamEventSource, 'setEnabled'>,
  functionNames: readonly string[],
  measure: () => Promise<T>,
): Promise<T> => {
  for (const name of functionNames) mappings.setEnabled(name, false);
  try {
    return await measure();
  } finally {
    for (const name of functionNames) mappings.setEnabled(name, true);
  }
};
