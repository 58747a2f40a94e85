import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BusName, rules } from '../../../infra/topology.ts';
import { compilePattern } from '../../../local-cloud/emulators/eventbridge/pattern.ts';
import { EVENTS, type EventName } from '../../../schemas/events.ts';

const fixtureDir = join(import.meta.dirname, '../../fixtures/events');
const fixtures = readdirSync(fixtureDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({
    file,
    event: JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as Record<string, unknown>,
  }));

const compiled = rules.map((rule) => ({ rule, pattern: compilePattern(rule.eventPattern) }));

/** Every `rule → target` an event reaches from `bus`, following cross-bus targets as EventBridge does. */
const route = (event: Record<string, unknown>, bus: BusName): string[] =>
  compiled
    .filter(({ rule, pattern }) => rule.bus === bus && pattern.matches(event))
    .flatMap(({ rule }) =>
      rule.targets.flatMap((target) => [
        `${rule.name} → ${target.id}`,
        ...(target.kind === 'bus' ? route(event, target.bus) : []),
      ]),
    )
    .sort();

/**
 * The routing table: which targets receive each fixture event put on the telemetry bus. A change
 * to a rule's pattern or targets shows up here as a diff.
 */
const ROUTING_TABLE: Record<string, string[]> = {
  // Dashboards are updated by ReadingEnriched, which carries the values: one push per reading.
  'reading-recorded.json': ['enrich → enrich-reading'],
  // A replay (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html)
  // repairs enrichment; dashboards do not see it again.
  'reading-recorded-replayed.json': ['enrich → enrich-reading'],
  'reading-enriched.json': ['push → push', 'to-websocket → websocket-bus'],
  // Nobody watches the device: its readings stay off the WebSocket bus.
  'reading-enriched-unwatched.json': [],
  'alert-raised-threshold.json': [
    'alert-history → alert-history',
    'alerts → alert-notifier',
    'push → push',
    'to-websocket → websocket-bus',
  ],
  'alert-raised-silence.json': [
    'alert-history → alert-history',
    'alerts → alert-notifier',
    'push → push',
    'to-websocket → websocket-bus',
  ],
  'alert-resolved-threshold.json': [
    'alert-history → alert-history',
    'alerts → alert-notifier',
    'push → push',
    'to-websocket → websocket-bus',
  ],
  'foreign-event.json': [],
};

describe('event fixtures', () => {
  it('has a routing-table row for every fixture', () => {
    expect(fixtures.map((f) => f.file).sort()).toEqual(Object.keys(ROUTING_TABLE).sort());
  });

  it.each(fixtures.filter((f) => f.event.source !== 'someone.else'))(
    '$file parses with its schema',
    ({ event }) => {
      const contract = EVENTS[event['detail-type'] as EventName];
      expect(contract).toBeDefined();
      expect(contract.source).toBe(event.source);
      expect(contract.detail.safeParse(event.detail).error?.issues).toBeUndefined();
    },
  );

  it.each(fixtures)('$file reaches exactly the targets the topology says', ({ file, event }) => {
    expect(route(event, 'telemetry')).toEqual(ROUTING_TABLE[file]);
  });
});
