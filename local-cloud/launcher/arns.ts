import type { FunctionName } from '../../infra/api.ts';
import { type AnyTargetSpec, buses, queues, stateMachines, topics } from '../../infra/topology.ts';
import type { QueueSpec } from '../../infra/topology-types.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** ARNs of the local cloud's resources, shaped exactly like AWS's so targets and clients need no special case. */
export const localArns = {
  function: (name: string) =>
    `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:sensorbus-${kebab(name)}`,
  bus: (busName: string) => `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${busName}`,
  topic: (topicName: string) => `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${topicName}`,
  queue: (queueName: string) => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${queueName}`,
  /** Shaped as SQS's own queue URLs; the local Step Functions reads the queue name from its last segment. */
  queueUrl: (queueName: string) => `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${queueName}`,
  stateMachine: (name: string) => `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`,
};

/** The function a local Lambda ARN names. */
export const functionOfArn = (arn: string, names: readonly FunctionName[]): FunctionName | undefined =>
  names.find((name) => localArns.function(name) === arn);

/** The ARN a topology target points at, locally; a queue target's queue is one of `declaredQueues`. */
export const targetArn = (
  target: AnyTargetSpec,
  declaredQueues: Readonly<Record<string, QueueSpec>> = queues,
): string => {
  switch (target.kind) {
    case 'bus':
      return localArns.bus(buses[target.bus].name);
    case 'function':
      return localArns.function(target.function);
    case 'topic':
      return localArns.topic(topics[target.topic].name);
    case 'stateMachine':
      return localArns.stateMachine(stateMachines[target.stateMachine].name);
    case 'queue': {
      const queue = declaredQueues[target.queue];
      if (!queue) throw new Error(`Queue "${target.queue}" of target ${target.id} is not declared`);
      return localArns.queue(queue.name);
    }
  }
};
