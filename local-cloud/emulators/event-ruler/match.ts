/**
 * Matching a JSON object (an EventBridge event, an SNS message body) against an expanded event-ruler rule: the
 * object is flattened to the dotted paths the rule names, then each branch looks for values that all come from the
 * same element of every array they share (event-ruler's array consistency), and `exists: false` is judged against
 * the elements chosen by the fields that sort before it.
 */

import { isObject, type Scalar } from './operators.ts';
import type { Branch } from './rule.ts';

/** Flattened `[arrayId, index, arrayId, index, ...]` pairs of the array elements that contain a value. */
type Membership = readonly number[];

interface Leaf {
  readonly value: Scalar;
  readonly membership: Membership;
}

const NO_MEMBERSHIP: Membership = [];

const mergeMembership = (constraints: Membership, membership: Membership): Membership | undefined => {
  if (membership.length === 0) return constraints;
  let merged: number[] | undefined;
  for (let index = 0; index < membership.length; index += 2) {
    const arrayId = membership[index];
    const element = membership[index + 1];
    let found = false;
    for (let known = 0; known < constraints.length; known += 2) {
      if (constraints[known] === arrayId) {
        if (constraints[known + 1] !== element) return undefined;
        found = true;
        break;
      }
    }
    if (!found && arrayId !== undefined && element !== undefined) {
      merged ??= [...constraints];
      merged.push(arrayId, element);
    }
  }
  return merged ?? constraints;
};

const isScalar = (value: unknown): value is Scalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

const joinPath = (prefix: string | undefined, key: string): string =>
  prefix === undefined ? key : `${prefix}.${key}`;

class EventIndex {
  private readonly leaves = new Map<string, Leaf[]>();
  private arrayCount = 0;

  constructor(
    event: Record<string, unknown>,
    private readonly leafPaths: ReadonlySet<string>,
    private readonly pathPrefixes: ReadonlySet<string>,
  ) {
    this.visitObject(event, undefined, NO_MEMBERSHIP);
  }

  get(path: string): readonly Leaf[] | undefined {
    return this.leaves.get(path);
  }

  private visitObject(
    object: Record<string, unknown>,
    path: string | undefined,
    membership: Membership,
  ): void {
    for (const key of Object.keys(object)) {
      const childPath = joinPath(path, key);
      if (this.pathPrefixes.has(childPath)) this.visit(object[key], childPath, membership);
    }
  }

  private visit(node: unknown, path: string, membership: Membership): void {
    if (isScalar(node)) {
      if (!this.leafPaths.has(path)) return;
      const leaf = { value: node, membership };
      const existing = this.leaves.get(path);
      if (existing) existing.push(leaf);
      else this.leaves.set(path, [leaf]);
    } else if (Array.isArray(node)) {
      const arrayId = this.arrayCount++;
      node.forEach((element: unknown, index) => {
        const nested = typeof element === 'object' && element !== null;
        this.visit(element, path, nested ? [...membership, arrayId, index] : membership);
      });
    } else if (isObject(node)) {
      this.visitObject(node, path, membership);
    }
  }
}

const matchBranch = (branch: Branch, index: EventIndex, field: number, constraints: Membership): boolean => {
  const rule = branch[field];
  if (rule === undefined) return true;
  let consistentValueSeen = false;
  for (const leaf of index.get(rule.path) ?? []) {
    const merged = mergeMembership(constraints, leaf.membership);
    if (merged === undefined) continue;
    consistentValueSeen = true;
    if (rule.spec.test(leaf.value) && matchBranch(branch, index, field + 1, merged)) return true;
  }
  return (
    rule.spec.allowsAbsence && !consistentValueSeen && matchBranch(branch, index, field + 1, constraints)
  );
};

const pathPrefixesOf = (path: string): string[] => {
  const prefixes: string[] = [];
  let end = path.indexOf('.');
  while (end >= 0) {
    prefixes.push(path.slice(0, end));
    end = path.indexOf('.', end + 1);
  }
  prefixes.push(path);
  return prefixes;
};

/** A matcher for JSON objects (events, SNS message bodies) that match any of the branches. */
export function matcherOf(branches: readonly Branch[]): (event: Record<string, unknown>) => boolean {
  const leafPaths = new Set(branches.flatMap((branch) => branch.map((rule) => rule.path)));
  const pathPrefixes = new Set([...leafPaths].flatMap(pathPrefixesOf));
  return (event) => {
    const index = new EventIndex(event, leafPaths, pathPrefixes);
    return branches.some((branch) => matchBranch(branch, index, 0, NO_MEMBERSHIP));
  };
}
