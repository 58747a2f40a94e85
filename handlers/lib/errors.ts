import type { z } from 'zod/mini';
import type { ErrorDetail } from '../../schemas/error.ts';
import { joinPath, type ShapeProblem, shapeProblem, shortPath } from './json-shape.ts';

/** An error that has a meaning for the API's caller; everything else is answered as a 500 without detail. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The fields to blame; empty when the request as a whole is refused (401, 403, 404, 500). */
    readonly details: ErrorDetail[] = [],
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
  constructor(message = 'Missing or invalid credentials', details: ErrorDetail[] = []) {
    super(401, 'Unauthorized', message, details);
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
export class ConflictError extends HttpError {
  constructor(message: string, details: ErrorDetail[]) {
    super(409, 'Conflict', message, details);
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

/** The message of a request's first shape problem, naming where it is (a long path shortened). */
const shapeMessage = (problem: ShapeProblem, subject: string): string => {
  const where = problem.path === '' ? 'at the top level' : `at ${shortPath(problem.path)}`;
  switch (problem.kind) {
    case 'depth':
      return `${subject} nests too deeply ${where}`;
    case 'entries':
      return `${subject} holds too many entries ${where}`;
    case 'prototypeKey':
      return `${subject} is not valid`;
  }
};

/**
 * The first shape problem of a parsed request (see {@link shapeProblem}) as a 400, or `undefined`.
 * `prototypeKeys: false` checks only the whole-request limits, so a batch can still refuse a
 * `__proto__` key item by item.
 */
export const shapeError = (
  input: unknown,
  options: { prototypeKeys: boolean; prefix?: readonly PropertyKey[]; subject?: 'Request' | 'Message' },
): ValidationError | undefined => {
  const problem = shapeProblem(input, options);
  return (
    problem &&
    new ValidationError(shapeMessage(problem, options.subject ?? 'Request'), [
      { path: problem.path, message: problem.message },
    ])
  );
};
