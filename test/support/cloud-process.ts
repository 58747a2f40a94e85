/**
 * Runs the local cloud as a separate process, so tests can kill it (SIGKILL, no clean-up) and
 * start it again on the same data. Configured by environment (the edge's credentials as JSON in
 * `TEST_AWS_CREDENTIALS`; `TEST_STREAM_TABLE` adds a table of that name with a NEW_AND_OLD_IMAGES
 * stream, keyed by `pk`; `TEST_SCHEDULE_INTERVAL_MS` how often the scheduled functions run, 250 ms
 * unless told, 0 never: each would start cold after every restart); prints `READY <api> <edge>`.
 */
import { startLocalCloud } from '../../local-cloud/launcher/cloud.ts';
import { AwsCredentials } from '../../local-cloud/launcher/credentials.ts';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const cloud = await startLocalCloud({
  dataDir: required('TEST_DATA_DIR'),
  tokenSigningKey: required('TEST_SIGNING_KEY'),
  awsCredentials: AwsCredentials.parse(JSON.parse(required('TEST_AWS_CREDENTIALS'))),
  apiPort: Number(required('TEST_API_PORT')),
  edgePort: Number(required('TEST_EDGE_PORT')),
  scheduleIntervalMs: Number(process.env.TEST_SCHEDULE_INTERVAL_MS ?? 250),
  logLevel: 'ERROR',
  ...(process.env.TEST_STREAM_TABLE
    ? {
        extraTables: [
          {
            name: process.env.TEST_STREAM_TABLE,
            env: 'TEST_STREAM_TABLE',
            partitionKey: { name: 'pk', type: 'S' },
            indexes: [],
            stream: { viewType: 'NEW_AND_OLD_IMAGES' },
          },
        ],
      }
    : {}),
});
console.log(`READY ${cloud.apiUrl} ${cloud.edgeUrl}`);
process.on('SIGTERM', () => {
  void cloud.stop().then(() => process.exit(0));
});
