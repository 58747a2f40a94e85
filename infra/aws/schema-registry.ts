import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import { Construct } from 'constructs';
import { EVENTS } from '../../schemas/events.ts';
import { REPO_ROOT } from './config.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
/** Keywords whose value is a schema or an array of schemas. */
const SCHEMA_VALUES = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'not',
  'allOf',
  'anyOf',
  'oneOf',
]);
/** Draft-04 keywords kept as they are. */
const PLAIN = new Set([
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
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'required',
  'title',
  'description',
  'default',
]);
/** Later-draft annotations with no draft-04 meaning; dropped. */
const DROPPED = new Set(['$id', '$schema', 'examples']);

/**
 * Rewrites one JSON Schema (the 2020-12 dialect `npm run schemas` generates) as draft-04, the
 * JSON Schema dialect the EventBridge schema registry accepts
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-eventschemas-schema.html):
 * numeric `exclusiveMinimum`/`exclusiveMaximum` become draft-04's boolean form, `const` a
 * one-value `enum`, and `propertyNames` + `additionalProperties` a `patternProperties`. Any other
 * later keyword throws, so a generator change cannot silently register a weaker schema.
 */
export const toDraft04 = (schema: JsonObject, path = '#'): JsonObject => {
  const out: JsonObject = {};
  const bound = (exclusive: string, inclusive: string) => {
    const value = schema[exclusive];
    if (typeof value !== 'number') return;
    const current = schema[inclusive];
    if (
      typeof current === 'number' &&
      (exclusive === 'exclusiveMinimum' ? current > value : current < value)
    ) {
      return;
    }
    out[inclusive] = value;
    out[exclusive] = true;
  };
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key === 'propertyNames') continue;
    if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      if (typeof value === 'boolean') out[key] = value;
      continue;
    }
    if (key === 'const') {
      out.enum = [value];
    } else if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, convertSub(sub, `${path}/${key}/${name}`)]),
      );
    } else if (SCHEMA_VALUES.has(key)) {
      out[key] = Array.isArray(value)
        ? value.map((sub, index) => convertSub(sub, `${path}/${key}/${index}`))
        : convertSub(value, `${path}/${key}`);
    } else if (PLAIN.has(key)) {
      out[key] = value;
    } else {
      throw new Error(`JSON Schema keyword "${key}" at ${path} has no draft-04 equivalent`);
    }
  }
  bound('exclusiveMinimum', 'minimum');
  bound('exclusiveMaximum', 'maximum');
  const names = schema.propertyNames;
  if (names !== undefined) {
    if (!isObject(names) || typeof names.pattern !== 'string') {
      throw new Error(`propertyNames at ${path} can only be converted when it is a pattern`);
    }
    const values = out.additionalProperties;
    out.patternProperties = {
      ...(isObject(out.patternProperties) ? out.patternProperties : {}),
      [names.pattern]: values === undefined || values === true ? {} : values,
    };
    out.additionalProperties = false;
  }
  return out;
};

const convertSub = (value: Json, path: string): Json => {
  if (typeof value === 'boolean') return value;
  if (!isObject(value)) throw new Error(`Expected a schema at ${path}`);
  return toDraft04(value, path);
};

/** An event contract as far as the registry needs it. */
export interface RegisteredEvent {
  readonly source: string;
  readonly detailType: string;
  readonly version: number;
}

/** The committed JSON Schema of an event's `detail`, as `npm run schemas` generated it. */
export const detailSchemaFile = (event: RegisteredEvent): string =>
  join(REPO_ROOT, 'schemas/json/events', `${event.detailType}.v${event.version}.schema.json`);

/**
 * The registry document of one event: the EventBridge envelope with this event's `source` and
 * `detail-type`, and the committed `detail` schema converted to draft-04.
 */
export const eventSchemaDocument = (event: RegisteredEvent, detailSchema: JsonObject): JsonObject => ({
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: event.detailType,
  description: `${event.detailType} v${event.version}, put by ${event.source}`,
  type: 'object',
  required: ['source', 'detail-type', 'detail'],
  properties: {
    version: { type: 'string' },
    id: { type: 'string' },
    'detail-type': { type: 'string', enum: [event.detailType] },
    source: { type: 'string', enum: [event.source] },
    account: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    region: { type: 'string' },
    resources: { type: 'array', items: { type: 'string' } },
    detail: toDraft04(detailSchema),
  },
});

export const readDetailSchema = (event: RegisteredEvent): JsonObject => {
  const parsed: Json = JSON.parse(readFileSync(detailSchemaFile(event), 'utf8'));
  if (!isObject(parsed)) throw new Error(`${detailSchemaFile(event)} is not a JSON Schema object`);
  return parsed;
};

/** Registry name and schema name as EventBridge discovers them: `<source>@<DetailType>`. */
export const schemaNameOf = (event: RegisteredEvent): string => `${event.source}@${event.detailType}`;

export interface EventSchemaRegistryProps {
  readonly registryName: string;
  readonly events?: readonly RegisteredEvent[];
}

/**
 * An EventBridge schema registry holding every sensorbus domain event, so consumers can browse
 * them and download code bindings. A new schema version is recorded whenever a document changes.
 */
export class EventSchemaRegistry extends Construct {
  readonly registry: eventschemas.CfnRegistry;
  readonly schemas: eventschemas.CfnSchema[];

  constructor(scope: Construct, id: string, props: EventSchemaRegistryProps) {
    super(scope, id);
    this.registry = new eventschemas.CfnRegistry(this, 'Registry', {
      registryName: props.registryName,
      description: 'sensorbus domain events (schemas/ is the source; JSON Schema draft-04 here)',
    });
    this.schemas = (props.events ?? Object.values(EVENTS)).map(
      (event) =>
        new eventschemas.CfnSchema(this, `${event.detailType}Schema`, {
          registryName: this.registry.attrRegistryName,
          schemaName: schemaNameOf(event),
          type: 'JSONSchemaDraft4',
          description: `${event.detailType} v${event.version}`,
          content: JSON.stringify(eventSchemaDocument(event, readDetailSchema(event))),
        }),
    );
  }
}
