import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { FunctionName } from '../functions.ts';
import type { AnyRuleSpec, AnyTargetSpec } from '../topology.ts';
import type { TargetInput } from '../topology-types.ts';
import { lookup, physicalNameOfKey, type StageConfig } from './config.ts';
import type { DeadLetterQueues } from './dead-letter-queues.ts';
import type { SensorbusResources } from './sensorbus-function.ts';

/** The topology's `InputPath` / `InputTransformer`, handed to EventBridge verbatim. */
class VerbatimInput extends events.RuleTargetInput {
  readonly #properties: events.RuleTargetInputProperties;

  constructor(input: TargetInput) {
    super();
    this.#properties =
      'inputPath' in input
        ? { inputPath: input.inputPath }
        : {
            inputPathsMap: input.inputTransformer.inputPathsMap,
            inputTemplate: input.inputTransformer.inputTemplate,
          };
  }

  bind(): events.RuleTargetInputProperties {
    return this.#properties;
  }
}

/**
 * A CDK target (which brings its permissions and its dead-letter queue policy) with the
 * topology's retry policy and input. The CDK's bus target has neither option
 * (https://github.com/aws/aws-cdk/issues/28735), so every kind gets them here, the same way.
 */
class TopologyTarget implements events.IRuleTarget {
  constructor(
    private readonly target: events.IRuleTarget,
    private readonly spec: AnyTargetSpec,
  ) {}

  bind(rule: events.IRuleRef, id?: string): events.RuleTargetConfig {
    return {
      ...this.target.bind(rule, id),
      retryPolicy: {
        maximumRetryAttempts: this.spec.retryPolicy.maximumRetryAttempts,
        maximumEventAgeInSeconds: this.spec.retryPolicy.maximumEventAgeSeconds,
      },
      input: this.spec.input ? new VerbatimInput(this.spec.input) : undefined,
    };
  }
}

/**
 * EventBridge only retries the asynchronous *delivery* to Lambda; what the function then fails is
 * retried by Lambda (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
 * Lambda's own retries are capped at this, and what still fails goes to the target's DLQ.
 */
export const FUNCTION_RETRY_ATTEMPTS = 2;
/** Lambda keeps an asynchronous event at most 6 hours. */
const MAX_LAMBDA_EVENT_AGE_SECONDS = 6 * 3600;

export interface AsyncInvocation {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly onFailure: sqs.IQueue;
}

export interface EventRulesProps {
  readonly stage: StageConfig;
  readonly rules: readonly AnyRuleSpec[];
  readonly resources: Pick<SensorbusResources, 'buses' | 'topics'>;
  /** The queues `queue` targets name (`TopologyQueues`). */
  readonly queues: Readonly<Record<string, sqs.IQueue>>;
  /** The functions `function` targets name (a rule naming one that is not here fails the synthesis). */
  readonly functions: Readonly<Partial<Record<FunctionName, lambda.IFunction>>>;
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  readonly deadLetterQueues: DeadLetterQueues;
  /** Records how a function invoked asynchronously by a rule must handle its own failures. */
  readonly configureAsync: (name: FunctionName, invocation: AsyncInvocation) => void;
}

/**
 * Every topology rule on its bus, with exactly the topology's event pattern and targets: the
 * target `Id`, retry policy, input, and an encrypted dead-letter queue the rule may write to.
 */
export class EventRules extends Construct {
  readonly rules: Record<string, events.Rule> = {};

  constructor(scope: Construct, id: string, props: EventRulesProps) {
    super(scope, id);
    const { resources } = props;

    for (const spec of props.rules) {
      const rule = new events.Rule(this, spec.name, {
        ruleName: physicalNameOfKey(props.stage, spec.name),
        description: spec.description,
        eventBus: lookup(resources.buses, spec.bus, 'Bus'),
        eventPattern: spec.eventPattern,
      });
      const cfnRule = rule.node.defaultChild;
      if (!(cfnRule instanceof events.CfnRule)) throw new Error(`Rule ${spec.name} has no CfnRule`);
      // CDK's typed EventPattern has no `$or`: CloudFormation gets the topology's JSON as it is.
      cfnRule.addPropertyOverride('EventPattern', spec.eventPattern);

      spec.targets.forEach((target, index) => {
        const deadLetterQueue = props.deadLetterQueues.queue(target.deadLetterQueue);
        rule.addTarget(new TopologyTarget(this.#cdkTarget(target, deadLetterQueue, props), target));
        cfnRule.addPropertyOverride(`Targets.${index}.Id`, target.id);
      });
      this.rules[spec.name] = rule;
    }
  }

  #cdkTarget(target: AnyTargetSpec, deadLetterQueue: sqs.IQueue, props: EventRulesProps): events.IRuleTarget {
    switch (target.kind) {
      case 'bus':
        return new targets.EventBus(lookup(props.resources.buses, target.bus, 'Bus'), { deadLetterQueue });
      case 'topic':
        return new targets.SnsTopic(lookup(props.resources.topics, target.topic, 'Topic'), {
          deadLetterQueue,
        });
      case 'stateMachine':
        return new targets.SfnStateMachine(
          lookup(props.stateMachines, target.stateMachine, 'State machine'),
          {
            deadLetterQueue,
          },
        );
      case 'function':
        props.configureAsync(target.function, {
          retryAttempts: FUNCTION_RETRY_ATTEMPTS,
          maxEventAge: Duration.seconds(
            Math.min(target.retryPolicy.maximumEventAgeSeconds, MAX_LAMBDA_EVENT_AGE_SECONDS),
          ),
          onFailure: deadLetterQueue,
        });
        return new targets.LambdaFunction(lookup(props.functions, target.function, 'Function'), {
          deadLetterQueue,
        });
      case 'queue':
        return new targets.SqsQueue(lookup(props.queues, target.queue, 'Queue'), { deadLetterQueue });
    }
  }
}
