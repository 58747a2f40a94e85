import { describe, expect, it } from 'vitest';
import { eventSchemaDocument, readDetailSchema, toDraft04 } from '../../../../infra/aws/schema-registry.ts';
import { EVENTS } from '../../../../schemas/events.ts';

/** Every keyword JSON Schema draft-04 defines (https://json-schema.org/draft-04/schema). */
const DRAFT_04_KEYWORDS = new Set([
  '$schema',
  'id',
  'title',
  'description',
  'default',
  'type',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'patternProperties',
  'additionalProperties',
  'required',
  'minProperties',
  'maxProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'definitions',
]);

/** Keywords used anywhere in a schema, names under `properties` & co. excluded; and any numeric exclusive bound. */
const keywordsOf = (schema: unknown, out = new Set<string>()): Set<string> => {
  if (Array.isArray(schema)) {
    for (const item of schema) keywordsOf(item, out);
    return out;
  }
  if (typeof schema !== 'object' || schema === null) return out;
  for (const [key, value] of Object.entries(schema)) {
    out.add(key);
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value !== 'boolean') {
      out.add(`${key} (not a boolean)`);
    }
    if (
      ['properties', 'patternProperties', 'definitions'].includes(key) &&
      typeof value === 'object' &&
      value
    ) {
      for (const sub of Object.values(value)) keywordsOf(sub, out);
    } else if (key !== 'enum' && key !== 'default' && key !== 'required') {
      keywordsOf(value, out);
    }
  }
  return out;
};

describe('toDraft04', () => {
  it('turns numeric exclusive bounds into draft-04 boolean ones', () => {
    expect(toDraft04({ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 })).toEqual({
      type: 'integer',
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 10,
      exclusiveMaximum: true,
    });
  });

  it('keeps an inclusive bound that is already stricter', () => {
    expect(toDraft04({ type: 'number', minimum: 5, exclusiveMinimum: 0 })).toEqual({
      type: 'number',
      minimum: 5,
    });
  });

  it('turns const into a one-value enum, and a pattern on property names into patternProperties', () => {
    expect(
      toDraft04({
        type: 'object',
        properties: { kind: { type: 'string', const: 'threshold' } },
        propertyNames: { type: 'string', pattern: '^[a-z]+$' },
        additionalProperties: { type: 'number' },
      }),
    ).toEqual({
      type: 'object',
      properties: { kind: { type: 'string', enum: ['threshold'] } },
      patternProperties: { '^[a-z]+$': { type: 'number' } },
      additionalProperties: false,
    });
  });

  it('refuses a keyword draft-04 cannot say, rather than registering a weaker schema', () => {
    expect(() => toDraft04({ type: 'object', if: { required: ['a'] } })).toThrow(/"if"/);
  });
});

describe('registered event documents', () => {
  it.each(Object.values(EVENTS))('$detailType is draft-04 and pins its source and detail-type', (event) => {
    const document = eventSchemaDocument(event, readDetailSchema(event));
    const unknown = [...keywordsOf(document)].filter((keyword) => !DRAFT_04_KEYWORDS.has(keyword));
    expect(unknown).toEqual([]);
    expect(document.properties).toMatchObject({
      source: { enum: [event.source] },
      'detail-type': { enum: [event.detailType] },
    });
  });
});
