import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type FunctionName, functions } from '../../../../infra/api.ts';
import { functionEnvironment } from '../../../bench/bundles.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);

/**
 * How many EventBridge clients importing a function's handler module creates, in a fresh `node`
 * with the function's environment (the SDK pointed at an edge that import never reaches).
 */
const clientsCreatedAtImport = async (name: FunctionName): Promise<number> => {
  const entry = pathToFileURL(join(REPO_ROOT, functions[name].entry)).href;
  const script =
    'globalThis.awslambda = { streamifyResponse: (handler) => handler }; ' +
    `await import(${JSON.stringify(entry)}); ` +
    'process.stdout.write(String(globalThis.eventBridgeClientsCreated ?? 0));';
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/count-eventbridge-clients.mjs',
      '--input-type=module',
      '-e',
      script,
    ],
    {
      cwd: REPO_ROOT,
      env: functionEnvironment(name, {
        edgeUrl: 'http://127.0.0.1:9',
        awsCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    },
  );
  return Number(stdout);
};

/**
 * A function that publishes on few of its invocations (a device's deletion, an alert action, a
 * silence found, a deleted device's alerts resolved) creates its EventBridge client at its first
 * publish, not at init, where every cold start would pay for it.
 */
describe('EventBridge client at first use', () => {
  it('counts the client of a function that publishes on every invocation (the check is not vacuous)', async () => {
    expect(await clientsCreatedAtImport('announce')).toBe(1);
  });

  it.each(['deviceRegistry', 'alerts', 'alertHistory', 'alertEscalation', 'silenceCheck'] as const)(
    '%s creates no EventBridge client at init',
    async (name) => {
      expect(await clientsCreatedAtImport(name)).toBe(0);
    },
  );
});
