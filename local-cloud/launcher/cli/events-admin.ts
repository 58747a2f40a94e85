import {
  DescribeReplayCommand,
  type DescribeReplayCommandOutput,
  EventBridgeClient,
  ListArchivesCommand,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  QueueDoesNotExist,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ADMIN_SIGNING_NAME, type AwsCredentials, signedFetch } from '../../emulators/edge/sigv4.ts';
import type { DeadLetter } from '../../emulators/eventbridge/dead-letters.ts';
import { LOCAL_REGION, localArns } from '../arns.ts';

/** What a redrive did: messages handed back to their target (and removed), and messages left in the queue. */
export interface RedriveResult {
  readonly redriven: number;
  readonly failed: number;
}

/** Where the edge is, and the credentials its admin endpoints require a signature of. */
export interface EdgeAdminAccess {
  readonly edgeUrl: string;
  readonly awsCredentials: AwsCredentials;
}

/**
 * The local EventBridge's developer commands, as `npm run events` calls them on the edge's
 * `/_sensorbus/events/*` (and as tests call them, through the same code). The edge refuses
 * unsigned requests, so each is signed with the generated credentials.
 */
export const eventsAdmin = ({ edgeUrl, awsCredentials }: EdgeAdminAccess) => {
  const signing = { credentials: awsCredentials, region: LOCAL_REGION, service: ADMIN_SIGNING_NAME };
  const call = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await signedFetch(
      `${edgeUrl}/_sensorbus/events/${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      },
      signing,
    );
    const answer: unknown = await response.json();
    if (!response.ok) throw new Error(JSON.stringify(answer));
    return answer;
  };
  return {
    /** Streams events as they pass (`tail`), the response left to the caller to read. */
    tail: (query: URLSearchParams) => signedFetch(`${edgeUrl}/_sensorbus/events/tail?${query}`, {}, signing),
    /** Every queue's dead letters, or one queue's. */
    deadLetters: async (queue?: string) =>
      (await call(`dead-letters${queue ? `?queue=${encodeURIComponent(queue)}` : ''}`)) as Record<
        string,
        DeadLetter[]
      >,
    /**
     * Sends a queue's dead letters back: an event EventBridge could not deliver goes to its rule's
     * target again; an event a workflow parked (the enrich queue) starts that workflow again with
     * the original event, which is idempotent. Each message leaves the queue once its target took
     * it; a workflow that fails again parks the event anew.
     */
    redrive: async (queue: string): Promise<RedriveResult> =>
      (await moveToSourceQueues({ edgeUrl, awsCredentials }, queue)) ??
      ((await call('redrive', { queue })) as RedriveResult),
  };
};

const MOVE_DONE = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/**
 * Redrives a dead-letter queue of SQS queues as one would on AWS, with SQS's own
 * StartMessageMoveTask, each message back to the queue it came from, and waits for the task
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).
 * Undefined when no queue names it as its dead-letter queue (EventBridge's and the workflows').
 */
export const moveToSourceQueues = async (
  { edgeUrl, awsCredentials }: EdgeAdminAccess,
  queue: string,
  pollMs = 100,
): Promise<RedriveResult | undefined> => {
  const sqs = new SQSClient({ endpoint: edgeUrl, region: LOCAL_REGION, credentials: awsCredentials });
  try {
    const { QueueUrl } = await sqs
      .send(new GetQueueUrlCommand({ QueueName: queue }))
      .catch((error: unknown) => {
        if (error instanceof QueueDoesNotExist) return { QueueUrl: undefined };
        throw error;
      });
    if (!QueueUrl) return undefined;
    const { queueUrls = [] } = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl }));
    if (queueUrls.length === 0) return undefined;
    const SourceArn = localArns.queue(queue);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn }));
    for (;;) {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn }));
      const task = Results[0];
      if (task && MOVE_DONE.has(task.Status ?? '')) {
        const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
        return { redriven: moved, failed: (task.ApproximateNumberOfMessagesToMove ?? 0) - moved };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    sqs.destroy();
  }
};

/** What `npm run events -- replay` asks for: a bus's archived events of a time range, to all its rules or some. */
export interface ReplayRequest {
  readonly busName: string;
  readonly from: Date;
  readonly to: Date;
  /** Names of the bus's rules to replay to (every rule when absent). */
  readonly rules?: readonly string[];
}

const REPLAY_DONE = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/**
 * Replays a bus's archive with EventBridge's own API, as one would on AWS: finds the bus's
 * archive (ListArchives), starts a replay (StartReplay) and polls DescribeReplay until it is done
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html).
 */
export const replayArchive = async (
  { edgeUrl, awsCredentials }: EdgeAdminAccess,
  request: ReplayRequest,
  pollMs = 200,
): Promise<DescribeReplayCommandOutput> => {
  const client = new EventBridgeClient({
    endpoint: edgeUrl,
    region: LOCAL_REGION,
    credentials: awsCredentials,
  });
  try {
    const busArn = localArns.bus(request.busName);
    const { Archives = [] } = await client.send(new ListArchivesCommand({ EventSourceArn: busArn }));
    const archive = Archives[0]?.ArchiveName;
    if (!archive) throw new Error(`No archive of bus ${request.busName}`);
    const ruleArn = (rule: string) => `${busArn.replace(':event-bus/', ':rule/')}/${rule}`;
    const ReplayName = `cli-${Date.now()}`;
    await client.send(
      new StartReplayCommand({
        ReplayName,
        EventSourceArn: busArn.replace(/:event-bus\/.*$/, `:archive/${archive}`),
        EventStartTime: request.from,
        EventEndTime: request.to,
        Destination: { Arn: busArn, ...(request.rules ? { FilterArns: request.rules.map(ruleArn) } : {}) },
      }),
    );
    for (;;) {
      const replay = await client.send(new DescribeReplayCommand({ ReplayName }));
      if (REPLAY_DONE.has(replay.State ?? '')) return replay;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    client.destroy();
  }
};
