import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LOCAL_REGION } from '../../local-cloud/launcher/arns.ts';
import type { EdgeAccess } from './local-cloud.ts';

/** Debian's awscli package (installed by `.ci/run`); the AWS CLI as a developer would use it. */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** The environment the AWS CLI reaches the edge with: its credentials and region, no pager. */
export const awsCliEnvironment = (edge: EdgeAccess): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: edge.awsCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: edge.awsCredentials.secretAccessKey,
  // The AWS CLI v1 (Debian's awscli) reads only AWS_DEFAULT_REGION.
  AWS_DEFAULT_REGION: LOCAL_REGION,
  AWS_REGION: LOCAL_REGION,
  AWS_PAGER: '',
});

export interface AwsCliAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

/** The Python that runs Debian's `aws` script (its `#!` line). */
const awsCliPython = () => {
  const shebang = existsSync('/usr/bin/aws') ? readFileSync('/usr/bin/aws', 'utf8').split('\n')[0] : '';
  return shebang?.startsWith('#!') ? shebang.slice(2).trim() : 'python3';
};

/**
 * One AWS CLI process pointed at the edge that runs commands one after another through the CLI's
 * own driver (`test/support/aws-cli-session.py`): a separate `aws` per command spent most of a
 * test's time starting Python and importing the CLI (about a second each on a shared machine).
 */
export const awsCliSession = (edge: EdgeAccess) => {
  const child = spawn(awsCliPython(), [join(import.meta.dirname, 'aws-cli-session.py')], {
    env: awsCliEnvironment(edge),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: { resolve: (answer: AwsCliAnswer) => void; reject: (error: Error) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    waiting.shift()?.resolve(JSON.parse(line) as AwsCliAnswer);
  });
  const fail = (error: Error) => {
    for (const pending of waiting.splice(0)) pending.reject(error);
  };
  child.on('error', fail);
  child.stdin.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`the AWS CLI session ended (${signal ?? code})`)));
  return {
    /** Runs `aws <args>` against the edge; answers its exit code, stdout and stderr. */
    run: (...args: string[]) =>
      new Promise<AwsCliAnswer>((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify([...args, '--endpoint-url', edge.edgeUrl])}\n`);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
};
