/**
 * The init part of `npm run bench` on its own, in under a minute and with no local cloud: every
 * function's bundle built as CDK deploys it, its `import()` timed in fresh `node` processes
 * interleaved with the baseline's (`measureInits`), and each median printed as a ratio to the
 * baseline's median of the same run, beside the load average.
 *
 *   npx tsx test/bench/inits.ts [--runs 11] [--only ingest,devices] [--keep]
 *
 * No function reads anything from the cloud at init (the signing key is read at first use), so
 * the edge the SDK is pointed at is never reached; `--keep` leaves the bundles and their source
 * maps in place for `node --cpu-prof`.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { FunctionName } from '../../infra/api.ts';
import { bundleBaseline, bundleFunctions, INIT_TARGET_RATIO, measureInits } from './bundles.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const only = values.only ? new Set(values.only.split(',')) : undefined;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const bundles = await bundleFunctions();
try {
  const chosen = bundles.bundles.filter((b) => !only || only.has(b.name));
  const unknown = [...(only ?? [])].filter((name) => !chosen.some((b) => b.name === (name as FunctionName)));
  if (unknown.length > 0) throw new Error(`--only names no function: ${unknown.join(', ')}`);
  const baseline = await bundleBaseline(bundles.dir);
  const loadBefore = load();
  const { inits, baselineInitMs } = await measureInits(
    chosen,
    baseline,
    { edgeUrl: 'http://127.0.0.1:9', awsCredentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } },
    runs,
  );
  console.log(`load average before ${loadBefore}, after ${load()}; ${runs} runs each`);
  console.log(`baseline ${baselineInitMs?.toFixed(2)} ms, ${(baseline.bytes / 1024).toFixed(0)} KiB`);
  for (const init of inits) {
    const bundle = chosen.find((b) => b.name === init.name);
    const ratio =
      init.medianMs !== undefined && baselineInitMs !== undefined
        ? init.medianMs / baselineInitMs
        : undefined;
    console.log(
      [
        init.name.padEnd(22),
        `${init.medianMs?.toFixed(2) ?? 'failed'} ms`.padStart(10),
        `${ratio?.toFixed(2) ?? '-'} x`.padStart(7),
        `${((bundle?.bytes ?? 0) / 1024).toFixed(0)} KiB`.padStart(9),
        ratio !== undefined && ratio > INIT_TARGET_RATIO ? 'OVER' : '',
        init.error ?? '',
      ].join(' '),
    );
  }
  if (values.keep) console.log(`bundles kept in ${bundles.dir}`);
} finally {
  if (!values.keep) bundles.remove();
}
