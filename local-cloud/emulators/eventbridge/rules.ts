import { AwsError } from '../shared/aws-protocol.ts';
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
const TARGET_ID = /^[.\-_A-Za-z0-9]{1,64}$/;

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

/** Checks one target as PutTargets does; the message is the per-entry `ErrorMessage`. */
export const targetProblem = (target: unknown): string | undefined => {
  if (typeof target !== 'object' || target === null) return 'Target is not an object.';
  const t = target as Partial<Target>;
  if (typeof t.Id !== 'string' || !TARGET_ID.test(t.Id)) return 'Parameter Id is not valid.';
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
