import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ForbiddenError, ValidationError } from '../../../../handlers/lib/errors.ts';
import { parseJsonBody, validate, withErrors } from '../../../../handlers/lib/http.ts';
import { MAX_JSON_DEPTH, MAX_JSON_ENTRIES, shapeProblem } from '../../../../handlers/lib/json-shape.ts';
import { ErrorBody } from '../../../../schemas/error.ts';

const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const postOf = (body: string): APIGatewayProxyEvent =>
  ({
    body,
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: false,
    httpMethod: 'POST',
    path: '/readings',
  }) as unknown as APIGatewayProxyEvent;

const thrownBy = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('shapeProblem', () => {
  it('names the path where nesting passes the limit, even 100,000 levels down', () => {
    const value: unknown = JSON.parse(`{"metrics":{"t":${deepArrays(100_000)}}}`);

    const problem = shapeProblem(value, { prototypeKeys: true });

    const zeros = Array.from({ length: MAX_JSON_DEPTH - 2 }, () => '0');
    expect(problem).toMatchObject({ kind: 'depth', path: ['metrics', 't', ...zeros].join('.') });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}`, () => {
    expect(shapeProblem(JSON.parse(deepArrays(MAX_JSON_DEPTH)), { prototypeKeys: true })).toBeUndefined();
    expect(shapeProblem(JSON.parse(deepArrays(MAX_JSON_DEPTH + 1)), { prototypeKeys: true })?.kind).toBe(
      'depth',
    );
  });

  it(`accepts ${MAX_JSON_ENTRIES} keys or items in one container and refuses one more, naming it`, () => {
    const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));

    expect(shapeProblem({ metrics: keys(MAX_JSON_ENTRIES) }, { prototypeKeys: true })).toBeUndefined();
    expect(shapeProblem({ metrics: keys(MAX_JSON_ENTRIES + 1) }, { prototypeKeys: true })).toMatchObject({
      kind: 'entries',
      path: 'metrics',
    });
    expect(
      shapeProblem({ deviceIds: Array(MAX_JSON_ENTRIES + 1).fill('a') }, { prototypeKeys: true }),
    ).toMatchObject({ kind: 'entries', path: 'deviceIds' });
  });

  it('finds a __proto__ key in document order after wide siblings, with the prefix, only when asked', () => {
    const value: unknown = JSON.parse(
      '{"a":[1,{"b":2}],"metrics":{"t":1,"x":{"__proto__":{"admin":true}}},"z":{"__proto__":1}}',
    );

    expect(shapeProblem(value, { prototypeKeys: true, prefix: ['readings', 3] })).toMatchObject({
      kind: 'prototypeKey',
      path: 'readings.3.metrics.x.__proto__',
    });
    expect(shapeProblem(value, { prototypeKeys: false })).toBeUndefined();
  });

  it('cuts a long key in the path, so a 100 KB key is never echoed back', () => {
    const long = 'k'.repeat(100_000);
    const value: unknown = JSON.parse(`{"${long}":${deepArrays(MAX_JSON_DEPTH)}}`);

    const problem = shapeProblem(value, { prototypeKeys: true });

    expect(problem?.path.startsWith(`${'k'.repeat(64)}….0.0`)).toBe(true);
    expect(problem?.path.length).toBeLessThan(200);
  });

  it('passes scalars and shallow bodies', () => {
    for (const value of [null, 1, 'x', true, [], {}, { readings: [{ metrics: { t: 1 } }] }]) {
      expect(shapeProblem(value, { prototypeKeys: true })).toBeUndefined();
    }
  });
});

describe('parseJsonBody and validate', () => {
  it('refuses a deep body with a 400 naming the path, the message shortening it', () => {
    const error = thrownBy(() => parseJsonBody(postOf(`{"metrics":{"t":${deepArrays(100_000)}}}`)));

    expect(error).toBeInstanceOf(ValidationError);
    const { message, details } = error as ValidationError;
    expect(details).toHaveLength(1);
    expect(details[0]?.path).toMatch(/^metrics\.t(\.0){30}$/);
    expect(message).toBe('Request nests too deeply at metrics.t.0.0.….0.0.0.0');
  });

  it('leaves a __proto__ key of a parsed body to validate, which names it', () => {
    const body = parseJsonBody(postOf('{"name":"x","location":{"__proto__":{"admin":true}}}'));
    const schema = z.object({ name: z.string() });

    const error = thrownBy(() => validate(schema, body));

    expect((error as ValidationError).details).toEqual([
      { path: 'location.__proto__', message: 'is not an allowed field name' },
    ]);
  });
});

describe('withErrors', () => {
  it('answers every error with details, empty when no field is to blame', async () => {
    const answers = await Promise.all(
      [new ForbiddenError('not yours'), new Error('boom')].map((error) =>
        withErrors(async () => {
          throw error;
        })(postOf('{}')),
      ),
    );

    expect(answers.map((a) => a.statusCode)).toEqual([403, 500]);
    for (const answer of answers) {
      const body = ErrorBody.parse(JSON.parse(answer.body));
      expect(body.error.details).toEqual([]);
    }
  });
});
