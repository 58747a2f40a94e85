import { describe, expect, it } from 'vitest';
import { functions, schedules } from '../../../../infra/api.ts';
import { rules, stateMachines } from '../../../../infra/topology.ts';
import { patternMatches, routingFromTopology } from '../../../../tools/cost/topology.ts';

describe('routing read from the topology', () => {
  const routing = routingFromTopology();
  const targetsOf = (bus: string, detailType: string) =>
    routing.routes.filter((r) => r.bus === bus && r.detailTypes.includes(detailType)).map((r) => r.target);

  it('sends ReadingRecorded to the workflow only, and ReadingEnriched to the websocket bus, where push takes it', () => {
    expect(targetsOf('telemetry', 'ReadingRecorded')).toEqual([
      { kind: 'stateMachine', stateMachine: 'enrichReading' },
    ]);
    expect(targetsOf('websocket', 'ReadingRecorded')).toEqual([]);
    expect(targetsOf('telemetry', 'ReadingEnriched')).toEqual([{ kind: 'bus', bus: 'websocket' }]);
    expect(targetsOf('websocket', 'ReadingEnriched')).toEqual([{ kind: 'function', function: 'push' }]);
  });

  it('sends alerts to the history, the notifier and the websocket bus', () => {
    expect(targetsOf('telemetry', 'AlertRaised')).toEqual([
      { kind: 'function', function: 'alertHistory' },
      { kind: 'function', function: 'alertNotifier' },
      { kind: 'bus', bus: 'websocket' },
    ]);
  });

  it('keeps the buses in an order where events only move forward, the first one archived', () => {
    expect(routing.buses.map((b) => b.name)).toEqual(['telemetry', 'websocket']);
    expect(routing.buses[0]?.archived).toBe(true);
  });

  it('counts schedules, the authorizer cache and the billed-per-month resources', () => {
    expect(routing.schedules.map((s) => s.name).sort()).toEqual(Object.keys(schedules).sort());
    // The REST front door's what-if: device keys checked on every request (no API Gateway cache), so a revoked key is refused at once.
    expect(routing.authorizerCacheTtlSeconds).toBe(0);
    const queues =
      new Set(rules.flatMap((r) => r.targets.map((t) => t.deadLetterQueue))).size +
      Object.keys(schedules).length;
    // Every function but the two authorizers, the REST and HTTP APIs' 5XX, each workflow and each queue.
    expect(routing.alarms).toBe(
      Object.keys(functions).length - 2 + 2 + Object.keys(stateMachines).length + queues,
    );
    expect(routing.secrets).toBe(1);
  });

  it('matches $or patterns branch by branch', () => {
    const pattern = {
      $or: [
        { source: ['a'], 'detail-type': ['X'] },
        { source: ['b'], 'detail-type': ['Y'] },
      ],
    };
    expect(patternMatches(pattern, { source: 'a', detailType: 'X' })).toBe(true);
    expect(patternMatches(pattern, { source: 'a', detailType: 'Y' })).toBe(false);
    expect(patternMatches({ source: ['b'] }, { source: 'b', detailType: 'Z' })).toBe(true);
  });
});
