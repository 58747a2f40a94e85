import { type FunctionSpec, functions } from '../../infra/api.ts';
import type { Accounting } from './accounting.ts';
import { type Bundle, type InitTime, packageOf } from './bundles.ts';
import type { E2eRun, Percentiles } from './e2e.ts';
import type { Measurement } from './measurement.ts';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  readonly align?: 'left' | 'right';
}

/** A plain-text table: a header, a rule, one line per row, columns padded to their widest cell. */
export const renderTable = <T>(columns: readonly Column<T>[], rows: readonly T[]): string => {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i]?.length ?? 0)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => {
        const width = widths[i] ?? 0;
        return columns[i]?.align === 'left' ? value.padEnd(width) : value.padStart(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map((values) => line(values)),
  ].join('\n');
};

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number): string => n.toFixed(2);
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const orDash = (value: number | undefined, format: (n: number) => string) =>
  value === undefined ? '—' : format(value);

/** Main-thread CPU milliseconds per reading (or item) of a measured span. */
export const cpuMsPerItem = (m: Measurement): number | undefined =>
  m.mainCpuMs !== undefined && m.items > 0 ? m.mainCpuMs / m.items : undefined;

/** Share of the measured span's wall time the main thread spent on a CPU. */
export const cpuShare = (m: Measurement): number | undefined =>
  m.mainCpuMs !== undefined && m.durationSeconds > 0 ? m.mainCpuMs / (m.durationSeconds * 1000) : undefined;

/** Throughput and latency of every target, side by side. */
export const throughputTable = (rows: readonly Measurement[]): string =>
  renderTable<Measurement>(
    [
      { header: 'target', value: (m) => m.label, align: 'left' },
      { header: 'req/s', value: (m) => count(m.requestsPerSecond) },
      { header: 'readings/s', value: (m) => count(m.itemsPerSecond) },
      { header: 'p50 ms', value: (m) => ms(m.latency.p50Ms) },
      { header: 'p99 ms', value: (m) => ms(m.latency.p99Ms) },
      { header: 'max ms', value: (m) => ms(m.latency.maxMs) },
      { header: 'CPU ms/reading', value: (m) => orDash(cpuMsPerItem(m), (n) => n.toFixed(3)) },
      { header: 'CPU busy', value: (m) => orDash(cpuShare(m), percent) },
      { header: 'requests', value: (m) => count(m.requests) },
      { header: 'failed', value: (m) => count(m.failures) },
      { header: 'of which 429', value: (m) => (m.throttled === undefined ? '—' : count(m.throttled)) },
      { header: 'errors', value: (m) => count(m.errors) },
    ],
    rows,
  );

/** Where every acknowledged reading ended up, per device, in readings (not items, not events). */
export const accountingTable = (accounting: Accounting): string =>
  renderTable(
    [
      { header: 'device', value: (d) => d.deviceId, align: 'left' },
      { header: 'accepted', value: (d) => count(d.accepted) },
      { header: 'stored', value: (d) => count(d.stored) },
      { header: 'announced', value: (d) => count(d.announced) },
      { header: 'lost', value: (d) => count(d.lost) },
      { header: 'duplicated', value: (d) => count(d.duplicated) },
      { header: 'stored, answer unread', value: (d) => count(d.storedUnacknowledged) },
      { header: 'stored, unannounced', value: (d) => count(d.unannounced) },
    ],
    accounting.devices,
  );

export const kib = (bytes: number): number => bytes / 1024;

/**
 * Latency and delivery end to end: each reading's `ReadingRecorded` on the telemetry bus (not
 * pushed; one per reading, read from the bus tap), and its `ReadingEnriched` push over every
 * (reading, client) pair. Pushes repeating an `eventId` (dashboards drop them) are apart from
 * duplicates (another `eventId` for the same reading and client).
 */
export const pushTable = (run: E2eRun): string => {
  const { recorded, enriched } = run;
  return renderTable<{
    label: string;
    latency: Percentiles;
    per: string;
    expected: number;
    received: number;
    lost: number;
    duplicated?: number;
    repeated?: number;
  }>(
    [
      { header: 'POST sent →', value: (r) => r.label, align: 'left' },
      { header: 'p50 ms', value: (r) => ms(r.latency.p50Ms) },
      { header: 'p95 ms', value: (r) => ms(r.latency.p95Ms) },
      { header: 'p99 ms', value: (r) => ms(r.latency.p99Ms) },
      { header: 'max ms', value: (r) => ms(r.latency.maxMs) },
      { header: 'timed', value: (r) => count(r.latency.count) },
      { header: 'counted per', value: (r) => r.per, align: 'left' },
      { header: 'expected', value: (r) => count(r.expected) },
      { header: 'received', value: (r) => count(r.received) },
      { header: 'lost', value: (r) => count(r.lost) },
      { header: 'duplicated', value: (r) => orDash(r.duplicated, count) },
      { header: 'repeats dropped', value: (r) => orDash(r.repeated, count) },
    ],
    [
      {
        label: 'ReadingRecorded accepted on the telemetry bus',
        latency: recorded.latency,
        per: 'reading',
        expected: recorded.expected,
        received: recorded.announced,
        lost: recorded.missing,
      },
      {
        label: 'ReadingEnriched push read by a client',
        latency: enriched.latency,
        per: '(reading, client)',
        expected: enriched.expected,
        received: enriched.received,
        lost: enriched.lost,
        duplicated: enriched.duplicated,
        repeated: enriched.repeated,
      },
    ],
  );
};

/** Bundle size and init time of every function, against their targets. */
export const bundleTable = (
  bundles: readonly Bundle[],
  inits: readonly InitTime[],
  targets: { readonly kib: number; readonly initMs: number },
): string =>
  renderTable<Bundle>(
    [
      { header: 'function', value: (b) => b.name, align: 'left' },
      { header: 'entry', value: (b) => b.entry, align: 'left' },
      { header: 'KiB', value: (b) => kib(b.bytes).toFixed(1) },
      {
        header: `≤ ${targets.kib}`,
        value: (b) => (kib(b.bytes) <= targets.kib ? 'yes' : 'NO'),
        align: 'left',
      },
      { header: '+ map KiB', value: (b) => kib(b.mapBytes).toFixed(0) },
      {
        header: 'init ms (median)',
        value: (b) => orDash(inits.find((i) => i.name === b.name)?.medianMs, ms),
      },
      {
        header: `< ${targets.initMs}`,
        value: (b) => {
          const init = inits.find((i) => i.name === b.name)?.medianMs;
          return init === undefined ? 'FAILED' : init < targets.initMs ? 'yes' : 'NO';
        },
        align: 'left',
      },
      {
        header: 'runs ms',
        value: (b) => (inits.find((i) => i.name === b.name)?.runsMs ?? []).map((r) => r.toFixed(0)).join(' '),
        align: 'left',
      },
      {
        header: 'heap MiB',
        value: (b) => {
          const heap = inits.find((i) => i.name === b.name)?.heapUsedBytes;
          return heap === undefined ? '—' : (heap / 1024 / 1024).toFixed(1);
        },
      },
      {
        header: 'calls at init',
        value: (b) => ((functions[b.name] as FunctionSpec).secrets?.length ? 'GetSecretValue' : ''),
        align: 'left',
      },
      {
        header: 'AWS SDK clients bundled',
        value: (b) =>
          [...new Set(b.inputs.map((input) => packageOf(input.path)))]
            .filter((name) => name.startsWith('@aws-sdk/client-'))
            .map((name) => name.slice('@aws-sdk/client-'.length))
            .sort()
            .join(' '),
        align: 'left',
      },
      {
        header: 'external imports',
        value: (b) => b.externals.map((e) => e.specifier).join(' ') || 'none',
        align: 'left',
      },
    ],
    bundles,
  );

/** What one bundle is made of: bytes in the output per package, then the largest input files. */
export const compositionOf = (bundle: Bundle, top = 8): { packages: string; files: string } => {
  const byPackage = new Map<string, number>();
  for (const input of bundle.inputs) {
    const name = packageOf(input.path);
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytes);
  }
  const total = bundle.inputs.reduce((sum, input) => sum + input.bytes, 0) || 1;
  const packages = renderTable<[string, number]>(
    [
      { header: 'package', value: ([name]) => name, align: 'left' },
      { header: 'KiB', value: ([, bytes]) => kib(bytes).toFixed(1) },
      { header: 'share', value: ([, bytes]) => percent(bytes / total) },
    ],
    [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top),
  );
  const files = renderTable<{ path: string; bytes: number }>(
    [
      { header: 'input', value: (i) => i.path, align: 'left' },
      { header: 'KiB', value: (i) => kib(i.bytes).toFixed(1) },
    ],
    bundle.inputs.slice(0, top),
  );
  return { packages, files };
};
