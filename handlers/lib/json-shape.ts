import type { ErrorDetail } from '../../schemas/error.ts';

/**
 * How deeply a request may nest objects and arrays (the root counts as level 1). The deepest
 * body of the contract nests 4 levels (`{readings:[{metrics:{...}}]}`); the limit leaves room
 * and stops bodies that would make recursive code (zod, `JSON.stringify`, loggers) overflow.
 */
export const MAX_JSON_DEPTH = 32;

/** How many keys one object, or items one array, may hold; the largest list of the contract is 1000 device ids. */
export const MAX_JSON_ENTRIES = 1000;

/** Longest key shown whole in an error path; longer ones are cut, so a 200 KB key is never echoed back. */
const MAX_SHOWN_SEGMENT = 64;
/** Segments shown at each end of a long path in an error message. */
const SHOWN_PATH_ENDS = 4;

const shownSegment = (segment: PropertyKey): string => {
  const text = String(segment);
  return text.length > MAX_SHOWN_SEGMENT ? `${text.slice(0, MAX_SHOWN_SEGMENT)}…` : text;
};

/** The dotted path of a field, each key cut to a readable length. */
export const joinPath = (path: readonly PropertyKey[]): string => path.map(shownSegment).join('.');

/** A path short enough for a sentence: its first and last few segments around `…`. */
export const shortPath = (path: string): string => {
  const segments = path.split('.');
  if (segments.length <= 2 * SHOWN_PATH_ENDS + 1) return path;
  return [...segments.slice(0, SHOWN_PATH_ENDS), '…', ...segments.slice(-SHOWN_PATH_ENDS)].join('.');
};

export interface ShapeProblem extends ErrorDetail {
  /** The kind of limit broken: whole-request limits (`depth`, `entries`) or a forbidden field name. */
  readonly kind: 'depth' | 'entries' | 'prototypeKey';
}

interface Frame {
  readonly values: readonly unknown[];
  /** The keys of an object, in the order of `values`; `undefined` for an array. */
  readonly keys: readonly string[] | undefined;
  /** The key or index of this container in its parent; `undefined` for the root. */
  readonly segment: PropertyKey | undefined;
  next: number;
}

/**
 * Walks a parsed JSON value once, in document order, and answers its first problem: nesting
 * deeper than {@link MAX_JSON_DEPTH}, a container with more than {@link MAX_JSON_ENTRIES}
 * entries, or (with `prototypeKeys`) a `__proto__` key, which zod skips silently. The walk is
 * iterative and linear in the size of the value; the path is built only for the problem found,
 * from the frames on the stack, so a body nested 100,000 levels deep costs one pass.
 */
export const shapeProblem = (
  root: unknown,
  options: { prototypeKeys: boolean; prefix?: readonly PropertyKey[] },
): ShapeProblem | undefined => {
  const prefix = options.prefix ?? [];
  const stack: Frame[] = [];
  const problemAt = (segment: PropertyKey | undefined, kind: ShapeProblem['kind'], message: string) => {
    const path = [...prefix];
    for (const frame of stack) if (frame.segment !== undefined) path.push(frame.segment);
    if (segment !== undefined) path.push(segment);
    return { kind, path: joinPath(path), message };
  };
  /** Enters a container, or answers why it may not be entered. */
  const enter = (value: object, segment: PropertyKey | undefined): ShapeProblem | undefined => {
    if (stack.length >= MAX_JSON_DEPTH) {
      return problemAt(segment, 'depth', `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`);
    }
    const keys = Array.isArray(value) ? undefined : Object.keys(value);
    const values: readonly unknown[] = Array.isArray(value) ? value : Object.values(value);
    if (values.length > MAX_JSON_ENTRIES) {
      return problemAt(
        segment,
        'entries',
        `holds ${values.length} ${keys ? 'fields' : 'items'}; at most ${MAX_JSON_ENTRIES} are allowed`,
      );
    }
    stack.push({ values, keys, segment, next: 0 });
    return undefined;
  };

  if (typeof root !== 'object' || root === null) return undefined;
  const rootProblem = enter(root, undefined);
  if (rootProblem) return rootProblem;
  for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
    if (top.next >= top.values.length) {
      stack.pop();
      continue;
    }
    const at = top.next++;
    const key = top.keys?.[at];
    if (key === '__proto__' && options.prototypeKeys) {
      return problemAt(key, 'prototypeKey', 'is not an allowed field name');
    }
    const child = top.values[at];
    if (typeof child === 'object' && child !== null) {
      const problem = enter(child, key ?? at);
      if (problem) return problem;
    }
  }
  return undefined;
};
