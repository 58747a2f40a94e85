import { AwsError, validationException } from '../shared/aws-protocol.ts';
import { DEFAULT_BUS } from './buses.ts';
import { type CompiledPattern, compilePattern, InvalidEventPatternError } from './pattern.ts';
import { type TargetInputSpec, TargetInputValidationError, validateTargetInput } from './target-input.ts';

/** A target as PutTargets takes it (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html). */
export interface Target extends TargetInputSpec {
  Id: string;
  Arn: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
}

export interface Rule {
  readonly name: string;
  readonly busName: string;
  readonly arn: string;
  eventPattern: string;
  compiled: CompiledPattern;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  readonly targets: Map<string, Target>;
}

/** EventBridge's defaults: 185 attempts over 24 hours (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html). */
export const DEFAULT_RETRY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 };

export const MAX_TARGETS_PER_RULE = 5;

const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]+$/;
const MAX_TARGET_ID_LENGTH = 64;

const targetIdProblems = (id: unknown): string[] => {
  if (typeof id !== 'string') return ['Member must not be null'];
  return [
    ...(TARGET_ID.test(id) ? [] : ['Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+']),
    ...(id.length > MAX_TARGET_ID_LENGTH
      ? [`Member must have length less than or equal to ${MAX_TARGET_ID_LENGTH}`]
      : []),
  ];
};

const validation = (message: string) => new AwsError('ValidationException', message);

export const compileRulePattern = (pattern: unknown): { text: string; compiled: CompiledPattern } => {
  if (typeof pattern !== 'string' || pattern === '') {
    throw validation(
      'Parameter EventPattern is not valid. Reason: EventPattern is required for a rule on a custom event bus.',
    );
  }
  try {
    return { text: pattern, compiled: compilePattern(pattern) };
  } catch (error) {
    if (error instanceof InvalidEventPatternError)
      throw new AwsError('InvalidEventPatternException', error.message);
    throw error;
  }
};

export const validateRuleName = (name: unknown): string => {
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    throw validation(
      `1 validation error detected: Value '${String(name)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
    );
  }
  return name;
};

/**
 * Why PutTargets refuses the target at `index` (0-based), as the message of the ValidationException
 * AWS throws for the whole call; an invalid `Id` is named by its member path
 * (`targets.1.member.id`, recorded on AWS: LocalStack's `test_put_target_id_validation`).
 */
export const targetProblem = (target: unknown, index: number): string | undefined => {
  if (typeof target !== 'object' || target === null) return 'Target is not an object.';
  const t = target as Partial<Target>;
  const idProblems = targetIdProblems(t.Id);
  if (idProblems.length > 0)
    return validationException(
      idProblems.map((constraint) => ({ value: t.Id, member: `targets.${index + 1}.member.id`, constraint })),
    ).message;
  if (typeof t.Arn !== 'string' || !t.Arn.startsWith('arn:'))
    return `Parameter ${String(t.Arn)} is not valid. Reason: Provided Arn is not in correct format.`;
  const retry = t.RetryPolicy;
  if (
    retry?.MaximumRetryAttempts !== undefined &&
    (retry.MaximumRetryAttempts < 0 || retry.MaximumRetryAttempts > 185)
  ) {
    return 'Parameter MaximumRetryAttempts is not valid. Reason: must be between 0 and 185.';
  }
  if (
    retry?.MaximumEventAgeInSeconds !== undefined &&
    (retry.MaximumEventAgeInSeconds < 60 || retry.MaximumEventAgeInSeconds > 86_400)
  ) {
    return 'Parameter MaximumEventAgeInSeconds is not valid. Reason: must be between 60 and 86400.';
  }
  if (t.DeadLetterConfig?.Arn !== undefined && !t.DeadLetterConfig.Arn.startsWith('arn:aws:sqs:')) {
    return 'Parameter DeadLetterConfig.Arn is not valid. Reason: must be the ARN of an SQS queue.';
  }
  try {
    validateTargetInput(t, t.Id);
  } catch (error) {
    if (error instanceof TargetInputValidationError) return error.message;
    throw error;
  }
  return undefined;
};

/** What DescribeRule and ListRules answer for a rule. */
export const describeRule = (rule: Rule) => ({
  Name: rule.name,
  Arn: rule.arn,
  EventPattern: rule.eventPattern,
  State: rule.state,
  EventBusName: rule.busName,
  ...(rule.description !== undefined ? { Description: rule.description } : {}),
});

/** The bus and name in a rule ARN: `rule/<bus>/<name>` on a custom bus, `rule/<name>` on the default one. */
export const ruleOfArn = (ruleArn: string): { busName: string; ruleName: string } => {
  const path = ruleArn.slice(ruleArn.indexOf(':rule/') + ':rule/'.length);
  const slash = path.lastIndexOf('/');
  return slash < 0
    ? { busName: DEFAULT_BUS, ruleName: path }
    : { busName: path.slice(0, slash), ruleName: path.slice(slash + 1) };
};

/** One page of a List* answer: `Limit` items from the offset in `NextToken` (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRules.html). */
export const paginate = <T>(
  all: readonly T[],
  input: { NextToken?: unknown; Limit?: unknown },
): { page: T[]; NextToken?: string } => {
  const start = typeof input.NextToken === 'string' ? Number(input.NextToken) || 0 : 0;
  const limit = typeof input.Limit === 'number' && input.Limit > 0 ? input.Limit : 100;
  const page = all.slice(start, start + limit);
  return start + limit < all.length ? { page, NextToken: String(start + limit) } : { page };
};
