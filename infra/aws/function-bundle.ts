import type { BuildOptions } from 'esbuild';

/**
 * How every function is built, in one place without aws-cdk-lib: `SensorbusFunction` hands it to
 * `NodejsFunction`, and the bench and `test/unit/infra/aws/function-bundles.test.ts` run esbuild with it
 * directly, so they measure and check the very file CDK deploys.
 *
 * Every function bundles the AWS SDK: one minified file initialises in about half the time the
 * runtime's own SDK takes to load from dozens of packages (`npm run bench` measures both). Its
 * default credential chain is replaced by the environment credentials Lambda always provides
 * (`handlers/lib/lambda-credentials.ts`), which leaves the chain's other links and their STS and
 * SSO clients out of every bundle. Source maps ship beside each bundle for reading stack traces;
 * `--enable-source-maps` is not set, since parsing them adds about 10 ms to every cold start.
 */
export const FUNCTION_BUNDLE = {
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  /**
   * ESM output has no `require`; some bundled CommonJS dependencies call it, so the bundle defines
   * it (https://esbuild.github.io/api/#banner).
   */
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  treeShaking: true,
  /**
   * Modules replaced in every bundle: the SDK's default credential chain by the one link Lambda
   * uses (`handlers/lib/lambda-credentials.ts`), and event-stream serialisation, which no client of
   * the handlers calls, by a module that refuses (`handlers/lib/no-event-streams.ts`).
   */
  alias: {
    '@aws-sdk/credential-provider-node': './handlers/lib/lambda-credentials.ts',
    '@smithy/core/event-streams': './handlers/lib/no-event-streams.ts',
  },
} as const;

/**
 * The esbuild options `NodejsFunction` derives from {@link FUNCTION_BUNDLE} when it bundles
 * (`esbuild --bundle <entry> --platform=node --format=esm --target=node22 --minify --sourcemap
 * --sources-content=false --banner:js=... --main-fields=module,main --tree-shaking=true --alias:...`,
 * run in the project root): what the bench and the local cloud build with, entries and output aside.
 */
export const FUNCTION_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: FUNCTION_BUNDLE.format,
  target: FUNCTION_BUNDLE.target,
  minify: FUNCTION_BUNDLE.minify,
  sourcemap: FUNCTION_BUNDLE.sourceMap,
  sourcesContent: FUNCTION_BUNDLE.sourcesContent,
  alias: { ...FUNCTION_BUNDLE.alias },
  logLevel: 'error',
  banner: { js: FUNCTION_BUNDLE.banner },
  mainFields: [...FUNCTION_BUNDLE.mainFields],
  treeShaking: FUNCTION_BUNDLE.treeShaking,
} satisfies BuildOptions;

/** The Lambda runtime every function runs on, as `AWS_EXECUTION_ENV` names it. */
export const FUNCTION_RUNTIME = 'nodejs22.x';
