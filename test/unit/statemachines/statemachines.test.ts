import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { RetryableErrors, WorkflowErrors } from '../../../handlers/lib/workflow-errors.ts';
import { tasksOf } from '../../../infra/aws/state-machines.ts';
import { stateMachines } from '../../../infra/topology.ts';
import { substitute } from '../../../local-cloud/launcher/resources.ts';

const repoRoot = join(import.meta.dirname, '../../..');

/** Every value of a key anywhere in a JSON document. */
const collect = (node: unknown, key: string): unknown[] => {
  if (Array.isArray(node)) return node.flatMap((item) => collect(item, key));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...collect(v, key)]);
};

describe.each(Object.values(stateMachines))('$definitionFile', (spec) => {
  const text = readFileSync(join(repoRoot, spec.definitionFile), 'utf8');

  it('is valid ASL once its placeholders are substituted', () => {
    const { isValid, errorsText } = aslValidator(substitute(spec));
    expect(isValid, errorsText('\n')).toBe(true);
  });

  it('declares a substitution for every placeholder, and uses every substitution', () => {
    const placeholders = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(spec.substitutions).sort());
  });

  it('is JSONPath ASL (aws-local-stepfunctions does not run JSONata)', () => {
    expect(collect(JSON.parse(text), 'QueryLanguage').every((language) => language === 'JSONPath')).toBe(
      true,
    );
  });

  it('matches only error names the code defines, in its own Fail states and in States.*', () => {
    const known = new Set<string>([
      ...Object.values(WorkflowErrors),
      ...Object.values(RetryableErrors).flat(),
      'States.ALL',
    ]);
    const names = collect(JSON.parse(text), 'ErrorEquals').flat() as string[];
    const fails = collect(JSON.parse(text), 'Error').filter((e): e is string => typeof e === 'string');
    expect(names.filter((name) => !known.has(name))).toEqual([]);
    expect(fails.filter((name) => !(Object.values(WorkflowErrors) as string[]).includes(name))).toEqual([]);
  });

  it("gives every task a timeout, and retries its integration's transient errors and timeouts with backoff", () => {
    const integrationOf = (resource: string) => {
      const service = /^arn:aws:states:::([a-z]+):/.exec(resource)?.[1];
      return service === 'events' ? 'eventbridge' : service;
    };
    const definition = JSON.parse(text) as { States: Record<string, Record<string, unknown>> };
    const states = new Map(
      collect(definition, 'States').flatMap((group) =>
        Object.entries(group as Record<string, Record<string, unknown>>),
      ),
    );
    const tasks = tasksOf(definition.States).map((task) => {
      const state = states.get(task.name) ?? {};
      const retriers = (state.Retry ?? []) as {
        ErrorEquals: string[];
        BackoffRate?: number;
        MaxAttempts?: number;
      }[];
      return {
        name: task.name,
        timeout: typeof state.TimeoutSeconds === 'number',
        retries: retriers.map((retrier) => [...retrier.ErrorEquals].sort()),
        backoff: retriers.every((r) => (r.BackoffRate ?? 0) > 1 && (r.MaxAttempts ?? 0) >= 2),
        integration: integrationOf(task.resource),
      };
    });
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks) {
      const integration = task.integration as keyof typeof RetryableErrors;
      expect(Object.keys(RetryableErrors)).toContain(integration);
      expect(task).toEqual({
        ...task,
        timeout: true,
        backoff: true,
        retries: [[...RetryableErrors[integration]].sort(), [...RetryableErrors.timeouts].sort()],
      });
    }
  });
});
