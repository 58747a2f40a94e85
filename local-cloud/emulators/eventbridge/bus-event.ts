/** An event as EventBridge delivers it (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** Set on events re-delivered from an archive (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html). */
  'replay-name'?: string;
}
