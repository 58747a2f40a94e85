import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at once: vitest's default (the cores less one) runs one at a time on a 2-core machine,
    // leaving a core idle whenever that file waits (for deliveries, schedules, retries, a process start).
    // Not more: a file's cold starts alone can keep a core busy.
    maxWorkers: 2,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Projects run in name order: the integration files first, the quick unit files after, to fill
    // the other worker while the last integration file ends, then the browser tests.
    projects: [
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
        },
      },
      {
        // Unit files share their workers' module cache (they touch no environment, global or mock):
        // each file importing the SDK, CDK and zod afresh took most of their time.
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          isolate: false,
        },
      },
      {
        // The browser tests run after the others, one file at a time: chromium and a local cloud per file.
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          // A browser on a shared 2-core machine: give polled assertions time rather than flake.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
