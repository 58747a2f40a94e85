import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { FunctionName } from '../functions.ts';
import type { BusName } from '../resources.ts';
import type { StateMachineSpec, Substitution } from '../topology.ts';
import { dataRemovalPolicy, lookup, physicalName, REPO_ROOT, type StageConfig } from './config.ts';
import type { DeadLetterQueues } from './dead-letter-queues.ts';
import { acknowledge } from './nag.ts';
import type { SensorbusResources } from './sensorbus-function.ts';

/** One Task state of an ASL document, wherever it is nested (Map, Parallel). */
interface TaskState {
  readonly name: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every Task state of an ASL document. */
export const tasksOf = (states: unknown): TaskState[] => {
  if (!isRecord(states)) return [];
  return Object.entries(states).flatMap(([name, state]): TaskState[] => {
    if (!isRecord(state)) return [];
    const nested = [
      ...(isRecord(state.ItemProcessor) ? tasksOf(state.ItemProcessor.States) : []),
      ...(isRecord(state.Iterator) ? tasksOf(state.Iterator.States) : []),
      ...(Array.isArray(state.Branches)
        ? state.Branches.flatMap((branch) => (isRecord(branch) ? tasksOf(branch.States) : []))
        : []),
    ];
    if (state.Type !== 'Task' || typeof state.Resource !== 'string') return nested;
    return [
      { name, resource: state.Resource, parameters: isRecord(state.Parameters) ? state.Parameters : {} },
      ...nested,
    ];
  });
};

const PLACEHOLDER = /\$\{(\w+)\}/g;

/** The `${Name}` placeholders an ASL text uses. */
export const placeholdersOf = (text: string): Set<string> =>
  new Set([...text.matchAll(PLACEHOLDER)].flatMap((match) => (match[1] ? [match[1]] : [])));

/** What one task may do, as IAM actions on the resource one of its parameters names. */
export interface TaskPermission {
  readonly actions: string[];
  readonly substitution?: Substitution;
  /** Set when the task's target is computed at run time (e.g. `Entries.$`), so the ASL does not name it. */
  readonly dynamic?: 'bus';
}

const PASCAL = (operation: string): string => operation.charAt(0).toUpperCase() + operation.slice(1);

/**
 * Maps a Task's optimized integration to the permission it needs
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html).
 * Integrations not listed here throw, so a new kind of task cannot deploy without its grant.
 */
export const permissionOf = (
  task: TaskState,
  substitutions: Readonly<Record<string, Substitution>>,
): TaskPermission => {
  const integration = /^arn:aws:states:::([a-z]+):([A-Za-z]+)$/.exec(task.resource);
  const [, service, operation] = integration ?? [];
  const named = (parameter: string): Substitution => {
    const value = task.parameters[parameter];
    const placeholder = typeof value === 'string' ? /^\$\{(\w+)\}$/.exec(value)?.[1] : undefined;
    const substitution = placeholder ? substitutions[placeholder] : undefined;
    if (!substitution)
      throw new Error(`Task ${task.name}: ${parameter} must be a \${placeholder} of the spec`);
    return substitution;
  };
  if (service === 'dynamodb' && operation) {
    return { actions: [`dynamodb:${PASCAL(operation)}`], substitution: named('TableName') };
  }
  if (service === 'sqs' && operation === 'sendMessage') {
    return { actions: ['sqs:SendMessage'], substitution: named('QueueUrl') };
  }
  if (service === 'lambda' && operation === 'invoke') {
    return { actions: ['lambda:InvokeFunction'], substitution: named('FunctionName') };
  }
  if (service === 'events' && operation === 'putEvents') {
    const entries = task.parameters.Entries;
    const first = Array.isArray(entries) && isRecord(entries[0]) ? entries[0] : undefined;
    if (first && typeof first.EventBusName === 'string') {
      const placeholder = /^\$\{(\w+)\}$/.exec(first.EventBusName)?.[1];
      const substitution = placeholder ? substitutions[placeholder] : undefined;
      if (substitution) return { actions: ['events:PutEvents'], substitution };
    }
    return { actions: ['events:PutEvents'], dynamic: 'bus' };
  }
  throw new Error(`Task ${task.name}: no permission is known for ${task.resource}`);
};

export interface StateMachinesProps {
  readonly stage: StageConfig;
  readonly specs: Readonly<Record<string, StateMachineSpec>>;
  readonly resources: SensorbusResources;
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  /** The queues a workflow's `sqs:sendMessage` tasks park failed inputs in (encrypted with SQS-managed keys, so no key grant). */
  readonly deadLetterQueues: DeadLetterQueues;
}

/**
 * The topology's workflows from their ASL files, unchanged: placeholders become
 * `DefinitionSubstitutions`, and the role may do exactly what the tasks do — each DynamoDB
 * operation on its table, each Lambda invoke on its function, `SendMessage` on its dead-letter
 * queue, `PutEvents` on the buses the spec
 * declares in `putsEventsOn` (its entries are built at run time, so the ASL cannot name them).
 */
export class StateMachines extends Construct {
  readonly machines: Record<string, sfn.StateMachine> = {};

  constructor(scope: Construct, id: string, props: StateMachinesProps) {
    super(scope, id);
    const { resources } = props;

    for (const [key, spec] of Object.entries(props.specs)) {
      const text = readFileSync(join(REPO_ROOT, spec.definitionFile), 'utf8');
      const missing = [...placeholdersOf(text)].filter((name) => !(name in spec.substitutions));
      if (missing.length > 0)
        throw new Error(`${spec.definitionFile} uses undeclared placeholders ${missing.join(', ')}`);

      const substituted = (substitution: Substitution): string => {
        if ('table' in substitution) return lookup(resources.tables, substitution.table, 'Table').tableName;
        if ('bus' in substitution) return lookup(resources.buses, substitution.bus, 'Bus').eventBusName;
        if ('queue' in substitution) return props.deadLetterQueues.queue(substitution.queue).queueUrl;
        return lookup(props.functions, substitution.function, 'Function').functionArn;
      };
      const arnOf = (substitution: Substitution): string => {
        if ('table' in substitution) return lookup(resources.tables, substitution.table, 'Table').tableArn;
        if ('bus' in substitution) return lookup(resources.buses, substitution.bus, 'Bus').eventBusArn;
        if ('queue' in substitution) return props.deadLetterQueues.queue(substitution.queue).queueArn;
        return lookup(props.functions, substitution.function, 'Function').functionArn;
      };

      const role = new iam.Role(this, `${key}Role`, {
        assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
        description: `Execution role of ${spec.name}`,
      });
      for (const task of tasksOf(JSON.parse(text).States)) {
        const permission = permissionOf(task, spec.substitutions);
        const targets: string[] = permission.substitution
          ? [arnOf(permission.substitution)]
          : spec.putsEventsOn.map((bus: BusName) => lookup(resources.buses, bus, 'Bus').eventBusArn);
        if (targets.length === 0)
          throw new Error(`Task ${task.name} of ${spec.name} targets no known resource`);
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: permission.actions, resources: targets }),
        );
      }

      const logGroup = new logs.LogGroup(this, `${key}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: dataRemovalPolicy(props.stage),
      });
      const machine = new sfn.StateMachine(this, key, {
        stateMachineName: physicalName(props.stage, spec.name),
        stateMachineType:
          spec.type === 'EXPRESS' ? sfn.StateMachineType.EXPRESS : sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(text),
        definitionSubstitutions: Object.fromEntries(
          Object.entries(spec.substitutions).map(([name, substitution]) => [name, substituted(substitution)]),
        ),
        role,
        tracingEnabled: true,
        logs: { destination: logGroup, level: sfn.LogLevel[spec.logLevel], includeExecutionData: true },
      });
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'CloudWatch Logs log delivery (logs:*LogDelivery, DescribeResourcePolicies/LogGroups) and X-Ray actions have no resource-level permissions; CDK adds exactly these for logging and tracing.',
      );
      if (spec.logLevel !== 'ALL') {
        acknowledge(
          machine,
          'AwsSolutions-SF1',
          `${spec.name} runs once per reading: logging every state of every execution would be most of the monthly bill (npm run cost). Failed executions are logged with their data, every execution is traced in X-Ray, and a CloudWatch alarm watches failures.`,
        );
      }
      this.machines[key] = machine;
    }
  }
}
