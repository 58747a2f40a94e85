/**
 * Lambda event filtering on event source mappings
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html): a mapping's
 * `FilterCriteria` holds up to five filters, each an event-ruler pattern over the whole record
 * (`eventName`, `dynamodb.NewImage.<attribute>.S`, ...). A record matching any filter is delivered;
 * one matching none is dropped without invoking the function and counts as processed, so the
 * mapping's position moves past it. Matching is the shared event-ruler module's; this front end adds
 * Lambda's dialect: equals, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`,
 * `exists`, `$or`, and no `wildcard`, `cidr` or `exactly`.
 */

import { matcherOf } from '../event-ruler/match.ts';
import { isObject, RuleSyntaxError } from '../event-ruler/operators.ts';
import { compileRule, expandRule, type RuleDialect } from '../event-ruler/rule.ts';

/** A filter pattern, as the `Pattern` of a `FilterCriteria.Filters` entry holds it (parsed). */
export type FilterPattern = Readonly<Record<string, unknown>>;

/** Filters per event source mapping (a quota AWS raises to 10 on request). */
export const MAX_FILTERS = 5;

/** Characters of one pattern's JSON text (https://docs.aws.amazon.com/lambda/latest/api/API_Filter.html). */
export const MAX_PATTERN_LENGTH = 4096;

const LAMBDA_FILTERS: RuleDialect = {
  matchTypes: new Set(['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists']),
  anythingButKinds: [],
  anythingButOfList: true,
  affixIgnoreCase: false,
};

/** A `FilterCriteria` Lambda refuses, with its reason (`InvalidParameterValueException` on AWS). */
export class InvalidFilterCriteriaError extends Error {
  readonly code = 'InvalidParameterValueException';

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Invalid filter pattern definition. ${reason}`, options);
    this.name = new.target.name;
  }
}

/**
 * Compiles a mapping's filters into one predicate over records: `undefined` (no filters) keeps
 * every record. Throws {@link InvalidFilterCriteriaError} for criteria Lambda would refuse.
 */
export function compileFilterCriteria(
  filters: readonly FilterPattern[] | undefined,
): ((record: unknown) => boolean) | undefined {
  if (filters === undefined || filters.length === 0) return undefined;
  if (filters.length > MAX_FILTERS)
    throw new InvalidFilterCriteriaError(`At most ${MAX_FILTERS} filters, not ${filters.length}.`);
  const matchers = filters.map((filter) => {
    if (JSON.stringify(filter).length > MAX_PATTERN_LENGTH)
      throw new InvalidFilterCriteriaError(`A pattern is at most ${MAX_PATTERN_LENGTH} characters.`);
    if (!isObject(filter)) throw new InvalidFilterCriteriaError('A pattern is a JSON object.');
    try {
      return matcherOf(expandRule(compileRule(filter, [], LAMBDA_FILTERS)) ?? []);
    } catch (error) {
      if (error instanceof RuleSyntaxError)
        throw new InvalidFilterCriteriaError(error.message, { cause: error });
      throw error;
    }
  });
  return (record) => isObject(record) && matchers.some((matches) => matches(record));
}
