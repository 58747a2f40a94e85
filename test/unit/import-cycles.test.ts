import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiersOf } from '../support/import-graph.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
/** The code of the product and its tools; type-only imports count, since they tie modules as tightly for a reader. */
const ROOTS = ['handlers', 'infra', 'local-cloud', 'schemas', 'tools', 'web/src'];

/** Each file's relative imports that name another source file, as repository-relative paths. */
const importGraph = (files: readonly string[]): Map<string, string[]> =>
  new Map(
    files.map((file) => [
      relative(repoRoot, file),
      specifiersOf(readFileSync(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => resolve(dirname(file), specifier))
        .filter((target) => existsSync(target))
        .map((target) => relative(repoRoot, target)),
    ]),
  );

/** One cycle per strongly tied group of modules, found by a depth-first walk; empty when the graph is acyclic. */
const cyclesOf = (graph: ReadonlyMap<string, readonly string[]>): string[][] => {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    if (done.has(node)) return;
    if (onPath.has(node)) {
      cycles.push([...path.slice(path.indexOf(node)), node]);
      return;
    }
    onPath.add(node);
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    onPath.delete(node);
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
};

describe('the import graph of the code', () => {
  it('finds a cycle when there is one, so an empty answer means something', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);

    expect(cyclesOf(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(
      cyclesOf(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no cycle: every module can be read after the ones it imports', () => {
    const files = ROOTS.flatMap((root) => sourceFiles(join(repoRoot, root)));
    const graph = importGraph(files);

    expect(files.length).toBeGreaterThan(200);
    expect(cyclesOf(graph)).toEqual([]);
  });
});
