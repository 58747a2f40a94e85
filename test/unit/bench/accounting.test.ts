import { describe, expect, it } from 'vitest';
import type { BusEvent, BusListener } from '../../../local-cloud/emulators/eventbridge/service.ts';
import { ReadingEnriched, ReadingRecorded } from '../../../schemas/events.ts';
import { recordedAtOf, tapBus } from '../../bench/accounting.ts';

/** The one port the tap uses: listeners told of every accepted event, as the local EventBridge does. */
const fakeBus = () => {
  const listeners = new Set<BusListener>();
  return {
    subscribe(listener: BusListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    accept(event: BusEvent, busName: string) {
      for (const listener of listeners) listener(event, busName);
    },
  };
};

const metadata = (eventId: string) => ({
  eventId,
  idempotencyKey: `key-${eventId}`,
  correlationId: 'bench',
  schemaVersion: 2,
  producedAt: '2026-11-23T10:15:01.020Z',
});

const eventOf = (
  contract: { source: string; detailType: string },
  detail: Record<string, unknown>,
): BusEvent => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': contract.detailType,
  source: contract.source,
  account: '000000000000',
  time: '2026-11-23T10:15:01Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

const recorded = (readingId: string, eventId: string): BusEvent =>
  eventOf(ReadingRecorded, {
    metadata: metadata(eventId),
    data: {
      deviceId: 'bench-e2e-1',
      uploadId: `upload-${eventId}`,
      receivedAt: '2026-11-23T10:15:01.004Z',
      watched: true,
      readings: [{ readingId, timestamp: '2026-11-23T10:15:00.000Z', metrics: { temperature: 24.6 } }],
    },
  });

const ids = { first: '7f475651-b31d-5b83-b121-c81c73bbeeef', second: '0b0c1f2a-6a2b-5e8e-9a55-1c1e2f3a4b5c' };

describe('the bench bus tap', () => {
  it('times each reading by the first ReadingRecorded the tapped bus accepted for it', () => {
    const bus = fakeBus();
    const tap = tapBus(bus, 'telemetry');
    bus.accept(recorded('reading-a', ids.first), 'telemetry');
    bus.accept(recorded('reading-b', ids.second), 'other-bus');
    bus.accept(
      eventOf(ReadingEnriched, {
        metadata: metadata(ids.second),
        data: { readingId: 'reading-b', deviceId: 'bench-e2e-1', timestamp: '2026-11-23T10:15:00.000Z' },
      }),
      'telemetry',
    );
    bus.accept(
      eventOf(ReadingRecorded, { metadata: metadata(ids.second), data: { readingId: 'reading-c' } }),
      'telemetry',
    );
    // A redelivery (the outbox relay, a retry) of reading-a: its first acceptance stands.
    bus.accept(recorded('reading-a', ids.first), 'telemetry');
    tap.stop();
    bus.accept(recorded('reading-d', ids.second), 'telemetry');

    expect(tap.events).toHaveLength(4);
    expect(tap.acceptedAtMs).toHaveLength(4);
    expect(tap.acceptedAtMs[3]).toBeGreaterThanOrEqual(tap.acceptedAtMs[0] ?? Number.NaN);
    expect(recordedAtOf(tap)).toEqual(new Map([['reading-a', tap.acceptedAtMs[0]]]));
  });
});
