import type { Accounting } from './accounting.ts';
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
      { header: 'errors', value: (m) => count(m.errors) },
    ],
    rows,
  );

/** Where every acknowledged reading ended up, per device. */
export const accountingTable = (accounting: Accounting): string =>
  renderTable(
    [
      { header: 'device', value: (d) => d.deviceId, align: 'left' },
      { header: 'accepted', value: (d) => count(d.accepted) },
      { header: 'stored', value: (d) => count(d.stored) },
      { header: 'emitted', value: (d) => count(d.emitted) },
      { header: 'lost', value: (d) => count(d.lost) },
      { header: 'duplicated', value: (d) => count(d.duplicated) },
      { header: 'stored, answer unread', value: (d) => count(d.storedUnacknowledged) },
      { header: 'outbox marked', value: (d) => count(d.outboxMarked) },
    ],
    accounting.devices,
  );
