import { extendTopology } from '../../infra/topology.ts';
import { patternOf } from '../../infra/topology-types.ts';
import { ReadingRecorded } from '../../schemas/events.ts';

/**
 * sensorbus' topology with one rule more, as a developer adding a rule target writes it: every
 * recorded reading also to an SQS queue (a tap an outside consumer reads). Not in the product's
 * flow, which has no use for it; the tests deploy it with CDK and run it in the local cloud.
 */
export const tapTopology = extendTopology({
  queues: { readingsTap: { name: 'sensorbus-readings-tap', maxReceiveCount: 5 } },
  rules: {
    'readings-tap': {
      bus: 'telemetry',
      eventPattern: patternOf(ReadingRecorded),
      target: { id: 'readings-tap', kind: 'queue', queue: 'readingsTap' },
      description: 'Every recorded reading, to the readings-tap queue',
    },
  },
});

/** The rule the extension adds. */
export const tapRule = tapTopology.rules.find((rule) => rule.name === 'readings-tap');
