import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { z } from 'zod';
import {
  FUNCTION_MEMORY_MB,
  type FunctionName,
  type FunctionSpec,
  functions,
  routes,
} from '../../infra/api.ts';
import { FUNCTION_ESBUILD_OPTIONS, FUNCTION_RUNTIME } from '../../infra/aws/function-bundle.ts';
import {
  buses,
  type SecretName,
  secrets,
  type TableName,
  type TableSpec,
  type TopicName,
  tables,
  topics,
} from '../../infra/topology.ts';
import { LOCAL_REGION, localArns } from '../../local-cloud/launcher/arns.ts';
import type { EdgeAccess } from '../support/local-cloud.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The options every function is bundled with ({@link FUNCTION_ESBUILD_OPTIONS}), plus a metafile, which changes nothing in the output. */
const esbuildOptionsFor = (entry: string, outfile: string): BuildOptions => ({
  ...FUNCTION_ESBUILD_OPTIONS,
  entryPoints: [join(REPO_ROOT, entry)],
  absWorkingDir: REPO_ROOT,
  outfile,
  metafile: true,
});

/**
 * The most a function's bundle may weigh: what Lambda loads and parses on every cold start
 * (issue 14's target). Bundling is deterministic, so `test/unit/infra/aws/function-bundles.test.ts`
 * holds every function to it and the bench reports it.
 */
export const MAX_BUNDLE_KIB = 300;

/** The most a function's init may take, in times the baseline function's (issue 14's target). */
export const INIT_TARGET_RATIO = 1.5;

export interface Bundle {
  readonly name: FunctionName;
  readonly entry: string;
  readonly file: string;
  readonly bytes: number;
  /** Bytes of the source map beside it (shipped in the same asset for reading stack traces; not read at init). */
  readonly mapBytes: number;
  /** Packages (not Node built-ins) the bundle still imports at run time, with where they resolve from it: none, the SDK is bundled. */
  readonly externals: readonly { readonly specifier: string; readonly resolved: string | undefined }[];
  /** Bytes each input contributes to the output. */
  readonly inputs: readonly { readonly path: string; readonly bytes: number }[];
}

export interface Bundles {
  readonly dir: string;
  readonly bundles: readonly Bundle[];
  remove(): void;
}

/** The package an input belongs to, or the repository folder of the project's own code. */
export const packageOf = (path: string): string => {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.slice(path.lastIndexOf('node_modules/')));
  if (match?.[1]) return match[1];
  return `sensorbus ${path.split('/')[0] ?? path}/`;
};

/** The package name of an import specifier (`@aws-sdk/lib-dynamodb/x` → `@aws-sdk/lib-dynamodb`). */
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const outputOf = (metafile: Metafile, outfile: string) => {
  const output = Object.entries(metafile.outputs).find(([path]) => resolve(REPO_ROOT, path) === outfile);
  if (!output) throw new Error(`esbuild's metafile does not describe ${outfile}`);
  return output[1];
};

/**
 * Bundles every function of `infra/api.ts` as the CDK construct does, each into
 * `<temp>/<function>/index.mjs`. `<temp>/node_modules` links to the repository's, so that any
 * package a bundle left external would resolve there, as it would to what the Lambda runtime ships.
 */
export const bundleFunctions = async (): Promise<Bundles> => {
  const dir = mkdtempSync(join(tmpdir(), 'sensorbus-bundles-'));
  const link = join(dir, 'node_modules');
  symlinkSync(join(REPO_ROOT, 'node_modules'), link, 'dir');
  // The link goes first, so that removing the folder cannot reach into the repository's node_modules.
  const remove = () => {
    rmSync(link, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const entries = Object.entries(functions) as [FunctionName, FunctionSpec][];
    const bundles = await Promise.all(
      entries.map(async ([name, spec]): Promise<Bundle> => {
        mkdirSync(join(dir, name));
        const file = join(dir, name, 'index.mjs');
        const { metafile } = await build(esbuildOptionsFor(spec.entry, file));
        if (!metafile) throw new Error(`esbuild wrote no metafile for ${spec.entry}`);
        const output = outputOf(metafile, file);
        const requireFromBundle = createRequire(file);
        const specifiers = [
          ...new Set(
            output.imports.filter((i) => i.external && !isBuiltin(i.path)).map((i) => packageName(i.path)),
          ),
        ].sort();
        return {
          name,
          entry: spec.entry,
          file,
          bytes: statSync(file).size,
          mapBytes: statSync(`${file}.map`).size,
          externals: specifiers.map((specifier) => {
            try {
              return { specifier, resolved: requireFromBundle.resolve(specifier) };
            } catch {
              return { specifier, resolved: undefined };
            }
          }),
          inputs: Object.entries(output.inputs)
            .map(([path, input]) => ({ path, bytes: input.bytesInOutput }))
            .sort((a, b) => b.bytes - a.bytes),
        };
      }),
    );
    return { dir, bundles, remove };
  } catch (error) {
    remove();
    throw error;
  }
};

/** The baseline function's entry: one SDK client, one call (see the file). */
export const BASELINE_ENTRY = 'test/bench/baseline-function.ts';

/** A bundle that is not one of `infra/api.ts`'s functions: the baseline. */
export interface BaselineBundle {
  readonly entry: string;
  readonly file: string;
  readonly bytes: number;
}

/** Bundles the baseline function with the same esbuild options as every function, into `dir`. */
export const bundleBaseline = async (dir: string): Promise<BaselineBundle> => {
  mkdirSync(join(dir, 'baseline'), { recursive: true });
  const file = join(dir, 'baseline', 'index.mjs');
  await build(esbuildOptionsFor(BASELINE_ENTRY, file));
  return { entry: BASELINE_ENTRY, file, bytes: statSync(file).size };
};

/** The origin `SensorbusFunction` gives functions that answer REST routes (the stage's dashboard origin). */
const DASHBOARD_ORIGIN = 'http://localhost:8080';

/** What Lambda's runtime and the construct set for any function, the SDK pointed at the local edge. */
const lambdaEnvironment = (functionName: string, edge: EdgeAccess): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  POWERTOOLS_SERVICE_NAME: 'sensorbus',
  AWS_LAMBDA_FUNCTION_NAME: functionName,
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(FUNCTION_MEMORY_MB),
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_LOG_FORMAT: 'JSON',
  AWS_LAMBDA_LOG_LEVEL: 'INFO',
  AWS_EXECUTION_ENV: `AWS_Lambda_${FUNCTION_RUNTIME}`,
  TZ: ':UTC',
  AWS_REGION: LOCAL_REGION,
  AWS_DEFAULT_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: edge.awsCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: edge.awsCredentials.secretAccessKey,
  AWS_ENDPOINT_URL: edge.edgeUrl,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/**
 * The environment Lambda gives a function: what the construct sets (its resources' variables,
 * with the local cloud's names and ARNs; Powertools' service name; source maps), what the runtime
 * sets (function name, memory, log format), and the SDK pointed at the local edge.
 */
export const functionEnvironment = (name: FunctionName, edge: EdgeAccess): Record<string, string> => {
  const spec: FunctionSpec = functions[name];
  const environment = lambdaEnvironment(localArns.function(name).split(':').at(-1) ?? name, edge);
  if (routes.some((route) => route.function === name)) environment.ALLOWED_ORIGIN = DASHBOARD_ORIGIN;
  for (const name of Object.keys(spec.tables) as TableName[]) {
    const table: TableSpec = tables[name];
    environment[table.env] = table.name;
    if (table.retention) environment[table.retention.env] = String(table.retention.days);
  }
  for (const bus of [...spec.buses, ...(spec.namesBuses ?? [])])
    environment[buses[bus].env] = buses[bus].name;
  for (const topic of Object.keys(spec.topics ?? {}) as TopicName[]) {
    environment[topics[topic].env] = localArns.topic(topics[topic].name);
  }
  for (const secret of spec.secrets ?? ([] as SecretName[]))
    environment[secrets[secret].env] = secrets[secret].name;
  if (spec.websocketManagement) environment.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = edge.edgeUrl;
  return environment;
};

const run = promisify(execFile);
const INIT_TIMEOUT_MS = 30_000;
const InitAnswer = z.object({ initMs: z.number(), heapUsedBytes: z.number(), handler: z.string() });

/**
 * Module initialisation of one bundle in a fresh `node`: the time `import()` of the bundle takes,
 * all its top-level code included (SDK clients created, the signing key read from Secrets Manager
 * by a top-level await), which is what a Lambda cold start adds to the runtime's own start; and
 * the JavaScript heap in use once it has (after a full GC), out of the function's memory.
 */
const initOnce = async (
  bundle: Pick<Bundle, 'file' | 'entry'>,
  environment: Record<string, string>,
): Promise<{ ms: number; heapUsedBytes: number }> => {
  const url = pathToFileURL(bundle.file).href;
  const script =
    // The Node.js runtime's `awslambda` global, which a streaming handler's module calls at import
    // (https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html); init never
    // invokes the handler, so marking it is all `streamifyResponse` has to do here.
    'globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } }; ' +
    `const t0 = performance.now(); const m = await import(${JSON.stringify(url)}); ` +
    'const initMs = performance.now() - t0; ' +
    // --expose-gc on the command line would cost every init ~15 ms (Node's code cache for its own
    // modules is tied to V8's flags), so the collector is exposed only once init is timed.
    "const v8 = await import('node:v8'); v8.setFlagsFromString('--expose-gc'); " +
    "(await import('node:vm')).runInNewContext('gc')(); const heapUsedBytes = process.memoryUsage().heapUsed; " +
    'process.stdout.write(JSON.stringify({ initMs, heapUsedBytes, handler: typeof m.handler })); process.exit(0);';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: environment,
    timeout: INIT_TIMEOUT_MS,
    maxBuffer: 1024 * 1024,
  });
  const answer = InitAnswer.parse(JSON.parse(stdout));
  if (answer.handler !== 'function') throw new Error(`${bundle.entry} exports no handler function`);
  return { ms: answer.initMs, heapUsedBytes: answer.heapUsedBytes };
};

export interface InitTime {
  readonly name: FunctionName;
  /** Median over the runs; undefined when the bundle did not load. */
  readonly medianMs: number | undefined;
  readonly runsMs: readonly number[];
  /** The largest heap in use after init over the runs (bytes). */
  readonly heapUsedBytes?: number;
  readonly error?: string;
}

const median = (values: readonly number[]): number | undefined => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** Every function's init time and the baseline's, measured side by side. */
export interface InitTimes {
  readonly inits: InitTime[];
  /** The median over every baseline run; undefined when the baseline did not load. */
  readonly baselineInitMs: number | undefined;
}

/**
 * Init time of every bundle, `runs` fresh processes each, one process at a time, after one untimed
 * process: the first `node` started after bundling waited for the disk (the binary and the
 * bundles entering the page cache), which measured the machine, not the bundle. The baseline
 * function is started right before each of those processes, and the functions take turns, a run
 * each per round, so the baseline's median and every function's are taken over the same span and
 * the same load (measured after them all, on a shared machine whose load moves within seconds, it
 * was a sample of another moment than the one it judged).
 */
export const measureInits = async (
  bundles: readonly Bundle[],
  baseline: BaselineBundle,
  edge: EdgeAccess,
  runs: number,
): Promise<InitTimes> => {
  const baselineEnvironment = lambdaEnvironment('sensorbus-bench-baseline', edge);
  const [first] = bundles;
  if (first) await initOnce(first, functionEnvironment(first.name, edge)).catch(() => undefined);
  await initOnce(baseline, baselineEnvironment).catch(() => undefined);
  const baselineRunsMs: number[] = [];
  let baselineFailed = false;
  const baselineRun = async () => {
    if (baselineFailed) return;
    try {
      baselineRunsMs.push((await initOnce(baseline, baselineEnvironment)).ms);
    } catch {
      baselineFailed = true;
    }
  };
  const measured = bundles.map((bundle) => ({
    bundle,
    runsMs: [] as number[],
    heapUsedBytes: 0,
    error: undefined as string | undefined,
  }));
  // Round after round, every function once a round: each function's runs then spread over the
  // same minutes as the baseline's, so a load that drifts over the measurement moves them alike
  // (one function's runs back to back sampled a few seconds of it, and its ratio to a baseline
  // median over every minute moved with where in the measurement it fell).
  for (let i = 0; i < runs; i++) {
    for (const m of measured) {
      if (m.error !== undefined) continue;
      try {
        await baselineRun();
        const { ms, heapUsedBytes } = await initOnce(m.bundle, functionEnvironment(m.bundle.name, edge));
        m.runsMs.push(ms);
        m.heapUsedBytes = Math.max(m.heapUsedBytes, heapUsedBytes);
      } catch (error) {
        m.error = (error instanceof Error ? error.message : String(error)).slice(0, 500);
      }
    }
  }
  const inits: InitTime[] = measured.map(({ bundle, runsMs, heapUsedBytes, error }) =>
    error === undefined
      ? { name: bundle.name, medianMs: median(runsMs), runsMs, heapUsedBytes }
      : { name: bundle.name, medianMs: undefined, runsMs, error },
  );
  return { inits, baselineInitMs: baselineFailed ? undefined : median(baselineRunsMs) };
};
