import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { WorkflowErrors } from '../../handlers/lib/workflow-errors.ts';
import { substitute } from '../../infra/local/stepfunctions.ts';
import { stateMachines } from '../../infra/topology.ts';

const repoRoot = join(import.meta.dirname, '../..');

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

  it('matches only error names the code defines, States.* or the service integrations raise', () => {
    const ours = new Set<string>(Object.values(WorkflowErrors));
    const names = collect(JSON.parse(text), 'ErrorEquals').flat() as string[];
    const fails = collect(JSON.parse(text), 'Error').filter((e): e is string => typeof e === 'string');
    const unknown = [...names, ...fails].filter(
      (name) => !ours.has(name) && !/^(States|Lambda|DynamoDB|EventBridge)\./.test(name),
    );
    expect(unknown).toEqual([]);
    expect(fails.filter((name) => !name.startsWith('States.')).every((name) => ours.has(name))).toBe(true);
  });
});
