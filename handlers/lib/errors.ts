import type { z } from 'zod/mini';
import type { ErrorDetail } from '../../schemas/error.ts';

/** An error that has a meaning for the API's caller; everything else is answered as a 500 without detail. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends HttpError {
  constructor(message: string, details: ErrorDetail[]) {
    super(400, 'ValidationError', message, details);
  }
}
export class UnauthorizedError extends HttpError {
  constructor(message = 'Missing or invalid credentials') {
    super(401, 'Unauthorized', message);
  }
}
export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, 'Forbidden', message);
  }
}
export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, 'NotFound', message);
  }
}
export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'PayloadTooLarge', `Request body exceeds ${limitBytes} bytes`, [
      { path: '', message: `body must be at most ${limitBytes} bytes` },
    ]);
  }
}
export class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string | undefined) {
    super(415, 'UnsupportedMediaType', `Expected application/json, got ${contentType ?? 'no content type'}`, [
      { path: 'content-type', message: 'must be application/json' },
    ]);
  }
}

const joinPath = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/** Turns zod issues into field-level details; unknown keys get one detail each, naming the key. */
export const detailsOf = (
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): ErrorDetail[] =>
  issues.flatMap((issue): ErrorDetail[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: joinPath([...path, key]), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_key') {
      return [
        { path: joinPath(path), message: `invalid name: ${issue.issues[0]?.message ?? issue.message}` },
      ];
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      return detailsOf(best, path);
    }
    return [{ path: joinPath(path), message: issue.message }];
  });

export const validationError = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []) =>
  new ValidationError('Request is not valid', detailsOf(issues, prefix));

/** The dotted path of the first `__proto__` key in a parsed JSON value (iterative: bodies may nest deeply). */
export const prototypeKeyPath = (root: unknown): string | undefined => {
  const stack: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      if (key === '__proto__') return [...path, key].join('.');
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
};

/**
 * `__proto__` is never a field of ours, and zod skips it silently; refusing it beats dropping
 * what was sent under it. Answers the detail naming it, if the input has one.
 */
export const prototypeKeyDetail = (
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): ErrorDetail | undefined => {
  const path = prototypeKeyPath(input);
  return path === undefined
    ? undefined
    : { path: joinPath([...prefix, ...path.split('.')]), message: 'is not an allowed field name' };
};
