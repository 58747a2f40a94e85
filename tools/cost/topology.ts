/**
 * What the cost model reads from the single source of truth (`infra/topology.ts` and the resources, functions and APIs it wires):
 * which rule on which bus matches which detail-type and where it sends it, the schedules, the
 * authorizer cache, and the counts of things billed per month (alarms, keys, secrets). Adding a
 * rule or a schedule there changes the estimate without touching the model.
 */
import { authorizers, websocketApi } from '../../infra/api.ts';
import { functions } from '../../infra/functions.ts';
import { buses, secrets, tables, topics } from '../../infra/resources.ts';
import { rules, schedules, stateMachines } from '../../infra/topology.ts';
import { EVENTS } from '../../schemas/events.ts';

export type RouteTarget =
  | { readonly kind: 'bus'; readonly bus: string }
  | { readonly kind: 'stateMachine'; readonly stateMachine: string }
  | { readonly kind: 'function'; readonly function: string }
  | { readonly kind: 'topic'; readonly topic: string };

export interface Route {
  readonly bus: string;
  readonly rule: string;
  /** The domain detail-types the rule's pattern matches. */
  readonly detailTypes: readonly string[];
  readonly target: RouteTarget;
}

export interface Routing {
  /** Buses in declaration order (a bus target always comes later: EventBridge does not re-route bus to bus to bus). */
  readonly buses: readonly { readonly name: string; readonly archived: boolean }[];
  readonly routes: readonly Route[];
  readonly schedules: readonly {
    readonly name: string;
    readonly function: string;
    readonly everyMinutes: number;
  }[];
  /** Seconds the device-key authorizer's answer is cached per API key (the REST front door's what-if; the HTTP API runs none). */
  readonly authorizerCacheTtlSeconds: number;
  /** Operator alarms the service stack creates: one per function but the authorizers, per workflow, per dead-letter queue, and the REST and HTTP APIs' 5XX. */
  readonly alarms: number;
  /** Customer managed KMS keys: the operator alarms topic's and one per topic a rule targets. */
  readonly customerManagedKeys: number;
  readonly secrets: number;
  /** The workflow's CloudWatch Logs level: with `ERROR`, successful executions log nothing. */
  readonly workflowLogLevel: 'ALL' | 'ERROR';
  readonly tables: readonly string[];
  readonly functions: readonly string[];
  /** The devices table's name, whose reads by a scheduled scan grow with the fleet. */
  readonly devicesTable: string;
}

type Pattern = Record<string, unknown>;

const listOf = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;

/**
 * Whether a pattern of the topology's shape (`source` and `detail-type` lists, possibly under
 * `$or`) matches an event. Any other field is taken to match, so the estimate errs high.
 */
export const patternMatches = (pattern: Pattern, event: { source: string; detailType: string }): boolean => {
  const branches = pattern.$or;
  if (Array.isArray(branches)) return branches.some((branch) => patternMatches(branch as Pattern, event));
  const sources = listOf(pattern.source);
  const detailTypes = listOf(pattern['detail-type']);
  return (
    (!sources || sources.includes(event.source)) && (!detailTypes || detailTypes.includes(event.detailType))
  );
};

const targetOf = (target: (typeof rules)[number]['targets'][number]): RouteTarget => {
  switch (target.kind) {
    case 'bus':
      return { kind: 'bus', bus: target.bus };
    case 'stateMachine':
      return { kind: 'stateMachine', stateMachine: target.stateMachine };
    case 'function':
      return { kind: 'function', function: target.function };
    case 'topic':
      return { kind: 'topic', topic: target.topic };
    case 'queue':
      // sensorbus' own flow declares no queue (`queues` in infra/resources.ts): one added needs pricing here.
      throw new Error(`Rule target ${target.id} is a queue, which the cost model does not price`);
  }
};

/** The routing of the topology as it is declared now. */
export const routingFromTopology = (): Routing => {
  const busNames = Object.keys(buses) as (keyof typeof buses)[];
  const routes: Route[] = rules.flatMap((rule) => {
    const detailTypes = Object.values(EVENTS)
      .filter((contract) => patternMatches(rule.eventPattern, contract))
      .map((contract) => contract.detailType);
    return rule.targets.map((target) => ({
      bus: rule.bus,
      rule: rule.name,
      detailTypes,
      target: targetOf(target),
    }));
  });
  const deadLetterQueues = new Set([
    ...rules.flatMap((rule) => rule.targets.map((target) => target.deadLetterQueue)),
    ...Object.keys(schedules).map((key) => `schedule:${key}`),
  ]);
  const authorizerFunctions = new Set([
    ...Object.values(authorizers).map((spec) => spec.function),
    websocketApi.authorizer.function,
  ]);
  const topicsTargeted = new Set(
    rules.flatMap((rule) =>
      rule.targets.flatMap((target) => (target.kind === 'topic' ? [target.topic] : [])),
    ),
  );
  return {
    buses: busNames.map((name) => ({ name, archived: buses[name].archived })),
    routes,
    schedules: Object.entries(schedules).map(([name, spec]) => ({
      name,
      function: spec.function,
      everyMinutes: spec.everyMinutes,
    })),
    // Only the REST front door's what-if runs a device-key authorizer, uncached as the old design ran it.
    authorizerCacheTtlSeconds: 0,
    alarms:
      Object.keys(functions).length -
      authorizerFunctions.size +
      2 +
      Object.keys(stateMachines).length +
      deadLetterQueues.size,
    customerManagedKeys: 1 + [...topicsTargeted].filter((topic) => topic in topics).length,
    secrets: Object.keys(secrets).length,
    workflowLogLevel: stateMachines.enrichReading.logLevel,
    tables: Object.keys(tables),
    functions: Object.keys(functions),
    devicesTable: tables.devices.name,
  };
};
