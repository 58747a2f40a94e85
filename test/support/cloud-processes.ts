/**
 * Starts the local cloud as child processes (test/support/cloud-process.ts) so crash tests can
 * kill one with SIGKILL, no clean-up, and start another on the same data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { AwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import type { EdgeAccess } from './local-cloud.ts';

const repoRoot = join(import.meta.dirname, '../..');

/** A free TCP port on the loopback, so a restarted process can listen where its clients expect it. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

export interface CloudProcess {
  child: ChildProcess;
  apiUrl: string;
  edge: EdgeAccess;
}

export interface CloudProcessOptions {
  signingKey: string;
  awsCredentials: AwsCredentials;
  /** Extra environment, e.g. `TEST_STREAM_TABLE` (see cloud-process.ts). */
  env?: Record<string, string>;
}

/** SIGKILLs a process; ends when it has really gone, so the next one can take its ports and data. */
export const kill9 = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

/**
 * Starts local clouds as child processes sharing one signing key and edge credentials, and keeps
 * track of them so `killAll` (in `afterAll`) leaves none behind.
 */
export const cloudProcesses = (options: CloudProcessOptions) => {
  const children = new Set<ChildProcess>();
  const start = (ports: { api: number; edge: number }, dataDir: string) =>
    new Promise<CloudProcess>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/cloud-process.ts'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...options.env,
          TEST_DATA_DIR: dataDir,
          TEST_SIGNING_KEY: options.signingKey,
          TEST_AWS_CREDENTIALS: JSON.stringify(options.awsCredentials),
          TEST_API_PORT: String(ports.api),
          TEST_EDGE_PORT: String(ports.edge),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      child.once('error', reject);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /READY (\S+) (\S+)/.exec(output);
        if (match?.[1] && match[2])
          resolve({
            child,
            apiUrl: match[1],
            edge: { edgeUrl: match[2], awsCredentials: options.awsCredentials },
          });
      });
    });
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  return { start, killAll };
};
