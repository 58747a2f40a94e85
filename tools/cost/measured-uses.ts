/**
 * From measured units (a month's worth, see `measured.ts`) to the model's priced uses: each meter
 * unit maps to one price. Durations measured locally (a shared machine, functions interleaved in
 * one thread) are not priced: Lambda and Express durations come from the assumptions, times the
 * measured invocations and executions. A unit this file does not know is an error, so a new kind
 * of billable work cannot go unpriced.
 */
import { isDuration, type Units } from './measured.ts';
import type { PriceId } from './prices.ts';

export type FrontDoor = 'rest' | 'http';

export interface MeasuredUse {
  readonly priceId: PriceId;
  readonly item: string;
  readonly quantity: number;
  readonly note: string;
}

export interface MeasuredFlow {
  readonly uses: MeasuredUse[];
  /** Invocations per function. */
  readonly invocations: Record<string, number>;
  readonly executions: number;
  readonly publishes: number;
  readonly websocketMessages: number;
  readonly customEvents: number;
  /** Of `customEvents`, those a rule forwarded to another bus. */
  readonly forwardedEvents: number;
}

const tableItem = (rest: string): string => {
  const [table = '', index] = rest.split('/');
  return index ? `${table} index ${index}` : table;
};

/** Prices one month of measured units; `origin` says where they come from (uploads, alerts, a schedule). */
export const measuredFlow = (units: Units, origin: string, frontDoor: FrontDoor): MeasuredFlow => {
  const flow: MeasuredFlow = {
    uses: [],
    invocations: {},
    executions: 0,
    publishes: 0,
    websocketMessages: 0,
    customEvents: 0,
    forwardedEvents: 0,
  };
  const use = (priceId: PriceId, item: string, quantity: number, note = `measured, ${origin}`) =>
    flow.uses.push({ priceId, item, quantity, note });
  const mutable = flow as { -readonly [K in keyof MeasuredFlow]: MeasuredFlow[K] };
  for (const [unit, quantity] of Object.entries(units)) {
    if (quantity <= 0 || isDuration(unit)) continue;
    const [service = '', kind = '', ...rest] = unit.split('/');
    const detail = rest.join('/');
    const key = `${service}/${kind}`;
    // The devices' requests reach the HTTP API; the REST front door's what-if prices them as REST calls.
    if (key === 'apigateway/httpRequests')
      use(
        frontDoor === 'http' ? 'apigwHttpRequests' : 'apigwRestRequests',
        `${frontDoor === 'http' ? 'HTTP API' : 'REST API'} requests (${origin})`,
        quantity,
      );
    else if (key === 'apigateway/restRequests')
      use('apigwRestRequests', `REST API requests (${origin})`, quantity);
    else if (key === 'apigateway/websocketMessages') {
      use(
        'apigwWsMessages',
        `WebSocket pushes (${origin})`,
        quantity,
        `measured @connections posts, 32 KB units, ${origin}`,
      );
      mutable.websocketMessages += quantity;
    } else if (key === 'lambda/invocations')
      flow.invocations[detail] = (flow.invocations[detail] ?? 0) + quantity;
    else if (key === 'dynamodb/wru') use('dynamoWrite', `${tableItem(detail)}: writes (${origin})`, quantity);
    else if (key === 'dynamodb/rru') use('dynamoRead', `${tableItem(detail)}: reads (${origin})`, quantity);
    else if (key === 'events/customEvents') {
      use('eventsCustom', `PutEvents entries (${origin})`, quantity, `measured, 64 KB chunks, ${origin}`);
      mutable.customEvents += quantity;
    } else if (key === 'events/forwardedEvents') {
      use(
        'eventsCustom',
        `events forwarded bus to bus (${origin})`,
        quantity,
        `measured, 64 KB chunks, ${origin}`,
      );
      mutable.customEvents += quantity;
      mutable.forwardedEvents += quantity;
    } else if (key === 'states/executions') mutable.executions += quantity;
    else if (key === 'sns/publishes') {
      use('snsRequests', `SNS publishes (${origin})`, quantity, `measured, 64 KB chunks, ${origin}`);
      mutable.publishes += quantity;
    } else throw new Error(`The cost model has no price for the measured unit "${unit}"`);
  }
  return flow;
};
