/**
 * The dated price table of the cost model: AWS list prices for US East (N. Virginia), on-demand,
 * without free tier, each with the AWS pricing page it belongs to and the copies of pages that
 * state it. The AWS pricing pages render their rate tables client-side, so their copies show
 * numbers only in the worked examples; a figure no copy states was recalled, not checked: it is
 * marked `verified: false` with a note saying so, and `npm run cost` lists it.
 *
 * To refresh: re-read each `source`, update `tiers`, `evidence`, `verified` and `PRICES_READ_ON`.
 */

/** When the copies of the pricing pages were read for this table. */
export const PRICES_READ_ON = '2026-11-23';
/** The only region this table has prices for. */
export const PRICE_REGION = 'us-east-1';

export interface PriceTier {
  /** Cumulative monthly quantity (in `unit`s) up to which this tier applies; `null` for the last. */
  readonly upTo: number | null;
  /** USD per `per` units. */
  readonly price: number;
}

export interface FreeTier {
  /** Monthly quantity, in `unit`s, that the free tier covers. */
  readonly quantity: number;
  /** `true` for an always-free allowance, `false` for the 12-month offer of new accounts. */
  readonly always: boolean;
  readonly description: string;
}

export interface Price {
  readonly id: string;
  readonly service: string;
  readonly description: string;
  /** The unit quantities are counted in: `request`, `GB-second`, `WRU`, `GB`... */
  readonly unit: string;
  /** Prices are per this many units (1,000,000 for "per million"). */
  readonly per: number;
  /** Human label of `per` units, e.g. `1M requests`. */
  readonly perLabel: string;
  readonly tiers: readonly PriceTier[];
  /** The AWS pricing page of the price. */
  readonly source: string;
  /** Copies of pages that state the figure (or, when unverified, the closest they came). */
  readonly evidence: readonly string[];
  /** Whether the us-east-1 figure was checked against a copy of a page that states it. */
  readonly verified: boolean;
  readonly note?: string;
  /** The date the price was read (`PRICES_READ_ON`). */
  readonly readOn: string;
  readonly freeTier?: FreeTier;
}

const M = 1_000_000;
const B = 1_000_000_000;

const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';
const SFN = 'https://aws.amazon.com/step-functions/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const CLOUDFRONT = 'https://aws.amazon.com/cloudfront/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';
const IOT = 'https://aws.amazon.com/iot-core/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
const EC2_TRANSFER = 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer';

const price = (p: Omit<Price, 'readOn'>): Price => ({ ...p, readOn: PRICES_READ_ON });

export const PRICES = {
  apigwRestRequests: price({
    id: 'apigwRestRequests',
    service: 'API Gateway',
    description: 'REST API calls received',
    unit: 'request',
    per: M,
    perLabel: '1M requests',
    tiers: [
      { upTo: 333 * M, price: 3.5 },
      { upTo: 1 * B, price: 2.8 },
      { upTo: 20 * B, price: 2.38 },
      { upTo: null, price: 1.51 },
    ],
    source: APIGW,
    evidence: [
      'https://raw.githubusercontent.com/api-evangelist/amazon-web-services/refs/heads/main/plans/amazon-web-services-plans-pricing.yml (the page’s own REST example, read 2026-09-20: $3.50, $2.80 next 667M, $2.38 next 19B)',
      'https://aws.amazon.com/cn/about-aws/whats-new/2018/11/api-gateway-announces-tiered-pricing/ (lowest tier $1.51)',
    ],
    verified: true,
    freeTier: { quantity: 1 * M, always: false, description: '1M REST calls/month, first 12 months' },
  }),
  apigwHttpRequests: price({
    id: 'apigwHttpRequests',
    service: 'API Gateway',
    description: 'HTTP API calls received, metered in 512 KB increments',
    unit: 'request',
    per: M,
    perLabel: '1M requests',
    tiers: [
      { upTo: 300 * M, price: 1.0 },
      { upTo: null, price: 0.9 },
    ],
    source: APIGW,
    evidence: [
      'https://amnic.com/blogs/aws-api-gateway-pricing (“HTTP API $1.00 (first 300M), then $0.90/M”, citing the AWS page)',
      'https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html (HTTP APIs are metered in 512 KB increments)',
    ],
    verified: true,
    freeTier: { quantity: 1 * M, always: false, description: '1M HTTP API calls/month, first 12 months' },
  }),
  apigwWsMessages: price({
    id: 'apigwWsMessages',
    service: 'API Gateway',
    description: 'WebSocket messages sent and received, metered in 32 KB increments',
    unit: 'message',
    per: M,
    perLabel: '1M messages',
    tiers: [
      { upTo: 1 * B, price: 1.0 },
      { upTo: null, price: 0.8 },
    ],
    source: APIGW,
    evidence: [
      'https://raw.githubusercontent.com/api-evangelist/amazon-web-services/refs/heads/main/plans/amazon-web-services-plans-pricing.yml ($1.00 per million, from the page’s example)',
      'https://aws.amazon.com/api-gateway/pricing/ (32 KB metering)',
    ],
    verified: false,
    note: 'The $1.00 first tier and the 32 KB metering were checked; the $0.80 rate past 1 billion messages is recalled, not checked.',
    freeTier: { quantity: 1 * M, always: false, description: '1M messages/month, first 12 months' },
  }),
  apigwWsMinutes: price({
    id: 'apigwWsMinutes',
    service: 'API Gateway',
    description: 'WebSocket connection minutes',
    unit: 'minute',
    per: M,
    perLabel: '1M minutes',
    tiers: [{ upTo: null, price: 0.25 }],
    source: APIGW,
    evidence: [
      'https://raw.githubusercontent.com/api-evangelist/amazon-web-services/refs/heads/main/plans/amazon-web-services-plans-pricing.yml ($0.25 per million connection minutes, from the page’s example)',
    ],
    verified: true,
    freeTier: {
      quantity: 750_000,
      always: false,
      description: '750,000 connection minutes/month, first 12 months',
    },
  }),
  lambdaRequests: price({
    id: 'lambdaRequests',
    service: 'Lambda',
    description: 'Lambda requests (invocations)',
    unit: 'request',
    per: M,
    perLabel: '1M requests',
    tiers: [{ upTo: null, price: 0.2 }],
    source: LAMBDA,
    evidence: [
      'https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md ($0.20 / 1M, x86 and arm64)',
      'https://raw.githubusercontent.com/api-evangelist/aws-lambda/refs/heads/main/plans/aws-lambda-plans-pricing.yml ($0.20 per million requests on the page, read 2026-09-20)',
    ],
    verified: true,
    freeTier: { quantity: 1 * M, always: true, description: '1M requests/month, always free' },
  }),
  lambdaArmGbSeconds: price({
    id: 'lambdaArmGbSeconds',
    service: 'Lambda',
    description: 'Lambda duration, arm64, per GB-second (tiered on the monthly total)',
    unit: 'GB-second',
    per: 1,
    perLabel: 'GB-s',
    tiers: [
      { upTo: 7.5 * B, price: 0.0000133334 },
      { upTo: 18.75 * B, price: 0.0000120001 },
      { upTo: null, price: 0.0000106667 },
    ],
    source: LAMBDA,
    evidence: [
      'https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js (base arm64 1333340e-11 per GB-s)',
      'https://cloudchipr.com/blog/aws-lambda-pricing (ARM: first 7.5B GB-s $0.0000133334, next 11.25B $0.0000120001)',
      'https://aws.amazon.com/blogs/compute/introducing-tiered-pricing-for-aws-lambda/ (arm64 tiers: 10% off 7.5-18.75B, 20% off beyond)',
    ],
    verified: true,
    note: 'Since August 2025 the INIT phase (cold start) is billed too; cold starts are not modelled.',
    freeTier: {
      quantity: 400_000,
      always: true,
      description: '400,000 GB-s/month, always free (x86 and arm64 together)',
    },
  }),
  dynamoWrite: price({
    id: 'dynamoWrite',
    service: 'DynamoDB',
    description: 'On-demand write request units (1 KB each)',
    unit: 'WRU',
    per: M,
    perLabel: '1M WRU',
    tiers: [{ upTo: null, price: 0.625 }],
    source: DYNAMODB,
    evidence: [
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East after the November 2024 50% cut: $0.625 per million WRU)',
    ],
    verified: true,
  }),
  dynamoRead: price({
    id: 'dynamoRead',
    service: 'DynamoDB',
    description: 'On-demand read request units (4 KB strongly consistent, or two eventually consistent)',
    unit: 'RRU',
    per: M,
    perLabel: '1M RRU',
    tiers: [{ upTo: null, price: 0.125 }],
    source: DYNAMODB,
    evidence: [
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East after the November 2024 50% cut: $0.125 per million RRU)',
    ],
    verified: true,
  }),
  dynamoStorage: price({
    id: 'dynamoStorage',
    service: 'DynamoDB',
    description: 'Standard table class storage, per GB-month (items + 100 B overhead each, indexes included)',
    unit: 'GB-month',
    per: 1,
    perLabel: 'GB-month',
    tiers: [{ upTo: null, price: 0.25 }],
    source: 'https://aws.amazon.com/dynamodb/pricing/',
    evidence: [
      'https://aws.amazon.com/dynamodb/pricing/ (“The first 25 GB consumed per month is free, and prices start from $0.25 per GB-month thereafter”)',
    ],
    verified: true,
    freeTier: { quantity: 25, always: true, description: '25 GB-month, always free' },
  }),
  dynamoPitr: price({
    id: 'dynamoPitr',
    service: 'DynamoDB',
    description: 'Point-in-time recovery (continuous backups), per GB-month of table size',
    unit: 'GB-month',
    per: 1,
    perLabel: 'GB-month',
    tiers: [{ upTo: null, price: 0.2 }],
    source: DYNAMODB,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
  }),
  eventsCustom: price({
    id: 'eventsCustom',
    service: 'EventBridge',
    description:
      'Custom events published (each 64 KB chunk of payload is one event); bus-to-bus deliveries are charged as custom events',
    unit: 'event',
    per: M,
    perLabel: '1M events',
    tiers: [{ upTo: null, price: 1.0 }],
    source: EVENTBRIDGE,
    evidence: [
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (us-east-1, March 2026: custom events $1.00 per million, 64 KB chunking)',
      'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html (“Events sent from one event bus to another are charged as custom events”)',
    ],
    verified: true,
  }),
  eventsDelivery: price({
    id: 'eventsDelivery',
    service: 'EventBridge',
    description: 'Rule matches delivered to targets in the same account and Region',
    unit: 'delivery',
    per: M,
    perLabel: '1M deliveries',
    tiers: [{ upTo: null, price: 0 }],
    source: EVENTBRIDGE,
    evidence: [
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (“Same-account delivery free”; cross-account $1.00/M)',
    ],
    verified: true,
    note: 'Counted so the fan-out is visible; same-account delivery has no charge of its own (targets bill their own use).',
  }),
  eventsArchive: price({
    id: 'eventsArchive',
    service: 'EventBridge',
    description: 'Archive: events processed into an archive, per GB',
    unit: 'GB',
    per: 1,
    perLabel: 'GB',
    tiers: [{ upTo: null, price: 0.1 }],
    source: EVENTBRIDGE,
    evidence: [
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (Archive: $0.10/GB processing + $0.023/GB-month storage)',
    ],
    verified: true,
  }),
  eventsArchiveStorage: price({
    id: 'eventsArchiveStorage',
    service: 'EventBridge',
    description: 'Archive storage, per GB-month',
    unit: 'GB-month',
    per: 1,
    perLabel: 'GB-month',
    tiers: [{ upTo: null, price: 0.023 }],
    source: EVENTBRIDGE,
    evidence: [
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (Archive: $0.10/GB processing + $0.023/GB-month storage)',
    ],
    verified: true,
  }),
  schedulerInvocations: price({
    id: 'schedulerInvocations',
    service: 'EventBridge Scheduler',
    description: 'Scheduled invocations',
    unit: 'invocation',
    per: M,
    perLabel: '1M invocations',
    tiers: [{ upTo: null, price: 1.0 }],
    source: EVENTBRIDGE,
    evidence: [
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (Scheduler $1.00 per million, 14M invocations/month free)',
    ],
    verified: true,
    freeTier: { quantity: 14 * M, always: true, description: '14M invocations/month' },
  }),
  sfnExpressRequests: price({
    id: 'sfnExpressRequests',
    service: 'Step Functions',
    description: 'Express workflow requests (executions started)',
    unit: 'request',
    per: M,
    perLabel: '1M requests',
    tiers: [{ upTo: null, price: 1.0 }],
    source: SFN,
    evidence: [
      'https://mdsite.deno.dev/https://aws.amazon.com/step-functions/pricing (the page’s Express example: “The price is $1.00 per million requests”)',
    ],
    verified: true,
  }),
  sfnExpressDuration: price({
    id: 'sfnExpressDuration',
    service: 'Step Functions',
    description:
      'Express workflow duration (100 ms increments × memory in 64 MB chunks), per GB-hour, tiered',
    unit: 'GB-second',
    per: 3600,
    perLabel: 'GB-hour',
    tiers: [
      { upTo: 1000 * 3600, price: 0.06 },
      { upTo: 5000 * 3600, price: 0.03 },
      { upTo: null, price: 0.01642 },
    ],
    source: SFN,
    evidence: [
      'https://mdsite.deno.dev/https://aws.amazon.com/step-functions/pricing (example: $0.06000 per GB-hour × first 1,000, $0.03000 × next 4,000, $0.01642 beyond; memory = 50 MB + definition + data, billed in 64 MB chunks)',
    ],
    verified: true,
  }),
  snsRequests: price({
    id: 'snsRequests',
    service: 'SNS',
    description: 'Standard topic publish requests (each 64 KB chunk is one request)',
    unit: 'request',
    per: M,
    perLabel: '1M requests',
    tiers: [{ upTo: null, price: 0.5 }],
    source: SNS,
    evidence: [
      'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ (2026-06: standard publish $0.50/M, email $2/100K)',
    ],
    verified: true,
    freeTier: { quantity: 1 * M, always: true, description: '1M publishes/month' },
  }),
  snsEmail: price({
    id: 'snsEmail',
    service: 'SNS',
    description: 'Email notifications delivered',
    unit: 'notification',
    per: 100_000,
    perLabel: '100K emails',
    tiers: [{ upTo: null, price: 2.0 }],
    source: SNS,
    evidence: [
      'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ (email $2 per 100K)',
    ],
    verified: true,
    freeTier: { quantity: 1000, always: true, description: '1,000 email notifications/month' },
  }),
  logsIngest: price({
    id: 'logsIngest',
    service: 'CloudWatch Logs',
    description: 'Log data ingested, Standard class, per GB',
    unit: 'GB',
    per: 1,
    perLabel: 'GB',
    tiers: [{ upTo: null, price: 0.5 }],
    source: CLOUDWATCH,
    evidence: [
      'https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing (us-east-1: $0.50 per GB ingested, $0.03 per GB-month stored)',
      'https://www.duckbillgroup.com/?p=9080 (Lambda logs, vended since 2025-05-01: $0.50/GB first tier)',
    ],
    verified: true,
    note: 'Flat $0.50/GB is used for every log group. Lambda logs (and possibly Step Functions logs) are billed as vended logs whose rate drops past 10 TB/month; not modelled.',
    freeTier: { quantity: 5, always: true, description: '5 GB ingestion/month' },
  }),
  logsStorage: price({
    id: 'logsStorage',
    service: 'CloudWatch Logs',
    description: 'Log storage (archived, compressed), per GB-month',
    unit: 'GB-month',
    per: 1,
    perLabel: 'GB-month',
    tiers: [{ upTo: null, price: 0.03 }],
    source: CLOUDWATCH,
    evidence: [
      'https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing ($0.03 per GB per month in us-east-1)',
    ],
    verified: true,
    freeTier: { quantity: 5, always: true, description: '5 GB-month storage' },
  }),
  cloudwatchMetrics: price({
    id: 'cloudwatchMetrics',
    service: 'CloudWatch',
    description:
      'Custom metrics (API Gateway detailed metrics are billed as custom metrics), per metric-month',
    unit: 'metric-month',
    per: 1,
    perLabel: 'metric-month',
    tiers: [
      { upTo: 10_000, price: 0.3 },
      { upTo: 250_000, price: 0.1 },
      { upTo: 1_000_000, price: 0.05 },
      { upTo: null, price: 0.02 },
    ],
    source: CLOUDWATCH,
    evidence: [
      'https://docs.aws.amazon.com/apigateway/latest/developerguide/metrics_dimensions_view_in_cloud_watch.html (method-level metrics only with detailed metrics on)',
    ],
    verified: false,
    note: 'Tiers recalled, not checked on the pricing page.',
    freeTier: { quantity: 10, always: true, description: '10 custom metrics/month' },
  }),
  cloudfrontRequests: price({
    id: 'cloudfrontRequests',
    service: 'CloudFront',
    description: 'HTTPS requests (United States, Mexico and Canada)',
    unit: 'request',
    per: 10_000,
    perLabel: '10,000 requests',
    tiers: [{ upTo: null, price: 0.01 }],
    source: CLOUDFRONT,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: { quantity: 10 * M, always: true, description: '10M HTTP(S) requests/month' },
  }),
  cloudfrontTransfer: price({
    id: 'cloudfrontTransfer',
    service: 'CloudFront',
    description: 'Data transfer out to the internet (United States, Mexico and Canada)',
    unit: 'GB',
    per: 1,
    perLabel: 'GB',
    tiers: [
      { upTo: 10 * 1024, price: 0.085 },
      { upTo: 50 * 1024, price: 0.08 },
      { upTo: 150 * 1024, price: 0.06 },
      { upTo: null, price: 0.04 },
    ],
    source: CLOUDFRONT,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: { quantity: 1024, always: true, description: '1 TB out/month' },
  }),
  s3GetRequests: price({
    id: 's3GetRequests',
    service: 'S3',
    description: 'GET requests, S3 Standard (CloudFront revalidating the dashboard page at its origin)',
    unit: 'request',
    per: 1_000,
    perLabel: '1,000 requests',
    tiers: [{ upTo: null, price: 0.0004 }],
    source: S3,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
  }),
  cloudwatchAlarms: price({
    id: 'cloudwatchAlarms',
    service: 'CloudWatch',
    description: 'Standard-resolution metric alarms, per alarm-month',
    unit: 'alarm-month',
    per: 1,
    perLabel: 'alarm-month',
    tiers: [{ upTo: null, price: 0.1 }],
    source: CLOUDWATCH,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: { quantity: 10, always: true, description: '10 alarms/month' },
  }),
  xrayTraces: price({
    id: 'xrayTraces',
    service: 'X-Ray',
    description: 'Traces recorded',
    unit: 'trace',
    per: M,
    perLabel: '1M traces',
    tiers: [{ upTo: null, price: 5.0 }],
    source: XRAY,
    evidence: [
      'https://aws.amazon.com/de/xray/pricing/ (“5 USD pro Million”, first 100,000 traces/month free)',
    ],
    verified: true,
    freeTier: { quantity: 100_000, always: true, description: '100,000 traces recorded/month' },
  }),
  kmsKeys: price({
    id: 'kmsKeys',
    service: 'KMS',
    description: 'Customer managed keys, per key-month',
    unit: 'key-month',
    per: 1,
    perLabel: 'key-month',
    tiers: [{ upTo: null, price: 1.0 }],
    source: KMS,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
  }),
  kmsRequests: price({
    id: 'kmsRequests',
    service: 'KMS',
    description: 'KMS API requests',
    unit: 'request',
    per: 10_000,
    perLabel: '10K requests',
    tiers: [{ upTo: null, price: 0.03 }],
    source: KMS,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: { quantity: 20_000, always: true, description: '20,000 requests/month' },
  }),
  secretsManager: price({
    id: 'secretsManager',
    service: 'Secrets Manager',
    description: 'Secrets stored, per secret-month',
    unit: 'secret-month',
    per: 1,
    perLabel: 'secret-month',
    tiers: [{ upTo: null, price: 0.4 }],
    source: SECRETS,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
  }),
  dataTransferOut: price({
    id: 'dataTransferOut',
    service: 'Data transfer',
    description: 'Data transfer out to the internet (API responses, WebSocket pushes)',
    unit: 'GB',
    per: 1,
    perLabel: 'GB',
    tiers: [
      { upTo: 10 * 1024, price: 0.09 },
      { upTo: 50 * 1024, price: 0.085 },
      { upTo: 150 * 1024, price: 0.07 },
      { upTo: null, price: 0.05 },
    ],
    source: EC2_TRANSFER,
    evidence: [
      'https://amnic.com/blogs/aws-api-gateway-pricing (“Data transfer out: $0.09/GB after the first 100 GB free per month”)',
    ],
    verified: false,
    note: 'The first-10-TB rate was checked; the next tiers (40 TB at $0.085, 100 TB at $0.07, then $0.05) are recalled, not checked.',
    freeTier: { quantity: 100, always: true, description: '100 GB/month out to the internet' },
  }),
  iotConnectivity: price({
    id: 'iotConnectivity',
    service: 'IoT Core',
    description: 'Connectivity, per minute of device connection',
    unit: 'minute',
    per: M,
    perLabel: '1M minutes',
    tiers: [{ upTo: null, price: 0.08 }],
    source: IOT,
    evidence: [
      'https://raw.githubusercontent.com/api-evangelist/amazon-iot-core/refs/heads/main/plans/amazon-iot-core-plans-pricing.yml ($0.08/1,000,000 minutes in the page’s Europe (Ireland) example, read 2026-09-20)',
    ],
    verified: false,
    note: 'Recalled as the same as Europe (Ireland), whose $0.08 was checked; the us-east-1 figure itself is not checked.',
    freeTier: {
      quantity: 2_250_000,
      always: false,
      description: '2.25M connection minutes/month, first 12 months',
    },
  }),
  iotMessaging: price({
    id: 'iotMessaging',
    service: 'IoT Core',
    description:
      'MQTT messages, metered in 5 KB increments (PINGREQ/PINGRESP and PUBACK sent by the service are free)',
    unit: 'message',
    per: M,
    perLabel: '1M messages',
    tiers: [
      { upTo: 1 * B, price: 1.0 },
      { upTo: 5 * B, price: 0.8 },
      { upTo: null, price: 0.7 },
    ],
    source: IOT,
    evidence: [
      'https://raw.githubusercontent.com/api-evangelist/amazon-iot-core/refs/heads/main/plans/amazon-iot-core-plans-pricing.yml ($1 per million, first billion, Europe (Ireland) example)',
      'https://aws.amazon.com/iot-core/pricing/additional-details/ (5 KB metering; which MQTT packets are metered)',
      'https://qiita.com/thetsuthetsu/items/c0d5c01834965f853034 (Tokyo tiers 1.20 / 0.96 / 0.84, i.e. 1.2 × 1.00 / 0.80 / 0.70)',
    ],
    verified: false,
    note: 'Not checked for us-east-1: $1.00 was checked for Europe (Ireland), and the $0.80 and $0.70 tiers are inferred from Tokyo’s, which are 1.2 times these.',
    freeTier: { quantity: 500_000, always: false, description: '500,000 messages/month, first 12 months' },
  }),
  iotRulesTriggered: price({
    id: 'iotRulesTriggered',
    service: 'IoT Core',
    description: 'Rules triggered (per 5 KB of message processed)',
    unit: 'rule',
    per: M,
    perLabel: '1M rules',
    tiers: [{ upTo: null, price: 0.15 }],
    source: IOT,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: {
      quantity: 250_000,
      always: false,
      description: '250,000 rules triggered/month, first 12 months',
    },
  }),
  iotActions: price({
    id: 'iotActions',
    service: 'IoT Core',
    description: 'Rule actions executed',
    unit: 'action',
    per: M,
    perLabel: '1M actions',
    tiers: [{ upTo: null, price: 0.15 }],
    source: IOT,
    evidence: [],
    verified: false,
    note: 'Recalled, not checked.',
    freeTier: {
      quantity: 250_000,
      always: false,
      description: '250,000 actions executed/month, first 12 months',
    },
  }),
} as const satisfies Record<string, Price>;

export type PriceId = keyof typeof PRICES;
export type PriceTable = Readonly<Record<PriceId, Price>>;

/** The monthly cost of `quantity` units under a tiered price. */
export const tieredCost = (price: Price, quantity: number): number => {
  let cost = 0;
  let from = 0;
  for (const tier of price.tiers) {
    const to = tier.upTo ?? Number.POSITIVE_INFINITY;
    const inTier = Math.max(0, Math.min(quantity, to) - from);
    cost += (inTier / price.per) * tier.price;
    if (quantity <= to) break;
    from = to;
  }
  return cost;
};

/** Prices recalled, not checked against a copy of a page that states their us-east-1 figure. */
export const unverifiedPrices = (prices: PriceTable = PRICES): Price[] =>
  Object.values(prices).filter((p) => !p.verified);
