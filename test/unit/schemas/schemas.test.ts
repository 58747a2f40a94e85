import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PutDeviceRequest } from '../../../schemas/device.ts';
import { PUBLISHED_SCHEMAS, renderJsonSchema } from '../../../schemas/json-schemas.ts';
import { IngestRequest, Reading } from '../../../schemas/reading.ts';

const schemaDir = join(import.meta.dirname, '../../../schemas/json');

describe('published JSON Schema', () => {
  it.each(Object.entries(PUBLISHED_SCHEMAS))(
    '%s matches its zod source (run `npm run schemas` after a change)',
    (name, schema) => {
      // Prepare
      const committed = readFileSync(join(schemaDir, `${name}.schema.json`), 'utf8');
      // Act
      const generated = renderJsonSchema(name, schema);
      // Assess
      expect(committed).toBe(generated);
    },
  );
});

describe('Reading', () => {
  const valid = { deviceId: 'dev-1', timestamp: '2026-11-23T10:15:00+01:00', metrics: { temperature: 21.5 } };

  it.each([
    ['a reading with an offset', valid],
    ['a reading in UTC with fractions', { ...valid, timestamp: '2026-11-23T10:15:00.123456Z' }],
    ['a reading with a sequence', { ...valid, sequence: 7 }],
    [
      '50 metrics',
      { ...valid, metrics: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`m${i}`, i])) },
    ],
  ])('accepts %s', (_, input) => {
    expect(Reading.safeParse(input).success).toBe(true);
  });

  it.each([
    ['a timestamp without offset', { ...valid, timestamp: '2026-11-23T10:15:00' }, 'timestamp'],
    ['a date only', { ...valid, timestamp: '2026-11-23' }, 'timestamp'],
    ['no metrics', { ...valid, metrics: {} }, 'metrics'],
    [
      '51 metrics',
      { ...valid, metrics: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`m${i}`, i])) },
      'metrics',
    ],
    ['a metric name starting with a digit', { ...valid, metrics: { '1x': 1 } }, 'metrics.1x'],
    ['a prototype key as metric name', { ...valid, metrics: JSON.parse('{"__proto__": 1}') }, 'metrics'],
    ['a string metric value', { ...valid, metrics: { t: '21' } }, 'metrics.t'],
    ['an unknown field', { ...valid, colour: 'red' }, 'colour'],
    ['a bad device id', { ...valid, deviceId: 'has space' }, 'deviceId'],
    ['a negative sequence', { ...valid, sequence: -1 }, 'sequence'],
  ])('rejects %s, naming the field', (_, input, field) => {
    const result = Reading.safeParse(input);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.join('.')],
    );
    expect(paths).toContain(field);
  });

  it('accepts a batch of 100 and rejects 101', () => {
    const batch = (n: number) => ({ readings: Array.from({ length: n }, () => valid) });
    expect(IngestRequest.safeParse(batch(100)).success).toBe(true);
    expect(IngestRequest.safeParse(batch(101)).success).toBe(false);
  });
});

describe('PutDeviceRequest', () => {
  it('needs a threshold on every alarm', () => {
    expect(PutDeviceRequest().safeParse({ alarms: [{ metric: 't', severity: 'warning' }] }).success).toBe(
      false,
    );
  });
  it('rejects an alarm whose band is empty', () => {
    expect(
      PutDeviceRequest().safeParse({ alarms: [{ metric: 't', above: 1, below: 5, severity: 'warning' }] })
        .success,
    ).toBe(false);
  });
});
