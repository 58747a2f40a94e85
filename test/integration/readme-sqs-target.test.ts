import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../local-cloud/launcher/resources.ts';
import { AWS_CLI, awsCliEnvironment } from '../support/aws-cli.ts';
import { startTestCloud, type TestCloud } from '../support/local-cloud.ts';

const run = promisify(execFile);

/** Where the README's commands say the edge is (`npm start`'s default). */
const README_EDGE = 'http://localhost:4566';

/** The shell block after the README's "A worked SQS target" heading, exactly as a reader copies it. */
const workedSqsTarget = (): string => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const from = readme.indexOf('**A worked SQS target, with the AWS CLI only.**');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  if (from < 0 || !block?.[1]) throw new Error('README has no worked SQS target block');
  return block[1];
};

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(() => t.stop());

/** Runs README lines with bash, the `aws` they call being the AWS CLI, against this test's edge. */
const bash = async (script: string) => {
  const { stdout } = await run(
    'bash',
    ['-euo', 'pipefail', '-c', script.replaceAll(README_EDGE, t.cloud.edgeUrl)],
    {
      env: {
        ...awsCliEnvironment(t.cloud),
        AWS_DEFAULT_OUTPUT: 'json',
        PATH: `${join(AWS_CLI, '..')}:${process.env.PATH}`,
      },
    },
  );
  return stdout;
};

describe("README's worked SQS target", { timeout: 120_000 }, () => {
  it('creates the queue and the rule with the AWS CLI, and receive-message reads the event of an upload', async () => {
    const script = workedSqsTarget();
    const lines = script.split('\n');
    const receiveAt = lines.findIndex((line) => line.startsWith('aws $E sqs receive-message'));
    const endpointLine = lines.find((line) => line.startsWith('E='));
    expect(receiveAt).toBeGreaterThan(0);

    await bash(lines.slice(0, receiveAt).join('\n'));
    const apiKey = await t.registerDevice('audited-1');
    const posted = await t.api('/readings', {
      method: 'POST',
      apiKey,
      json: { deviceId: 'audited-1', timestamp: '2026-11-20T08:00:00Z', metrics: { temperature: 4.5 } },
    });
    const received = JSON.parse(await bash([endpointLine, ...lines.slice(receiveAt)].join('\n'))) as {
      Messages?: { Body: string }[];
    };

    expect(posted.status).toBe(202);
    expect(received.Messages?.map((message) => JSON.parse(message.Body))).toEqual([
      expect.objectContaining({
        source: 'sensorbus.ingest',
        'detail-type': 'ReadingRecorded',
        detail: expect.objectContaining({ data: expect.objectContaining({ deviceId: 'audited-1' }) }),
      }),
    ]);
  });
});
