import type { BucketAggregate } from '../../schemas/reading.ts';
import type { ReadingItem } from '../lib/readings-store.ts';

/** RFC 4180 ends every record with CRLF (https://www.rfc-editor.org/rfc/rfc4180#section-2). */
const CRLF = '\r\n';

/**
 * Readings an export reads (and writes as one chunk) at a time: about 50-100 KB of CSV, small
 * enough that the function holds little, large enough that a year of readings every 10 s is a
 * few thousand Query requests.
 */
export const EXPORT_PAGE_READINGS = 1000;

/** What each bucket's metric spreads over, in this order: `<metric>_min,<metric>_max,...`. */
export const BUCKET_STATS = ['min', 'max', 'avg', 'count'] as const;

/** Where CSV text goes: resolves once it can take more (the caller's pace). */
export type CsvSink = (text: string) => Promise<void>;

/**
 * One text field: a field a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
 * `@`, tab or carriage return) gets a leading `'`
 * (https://owasp.org/www-community/attacks/CSV_Injection), then a field holding a comma, quote or
 * line break is quoted with its quotes doubled (RFC 4180). Metric names cannot start with those
 * characters today; the guard keeps the file safe should the names ever widen.
 */
export const csvText = (text: string): string => {
  const guarded = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
};

/**
 * A number as JavaScript writes it (`-3.5`, `1e-7`): every stored value is a finite number, which
 * spreadsheets read as a number and never as a formula, so numbers are not guarded.
 */
const csvNumber = (value: number | undefined): string => (value === undefined ? '' : String(value));

const line = (fields: readonly string[]): string => `${fields.join(',')}${CRLF}`;

/** Metric names in the one order every export uses: by code point, whatever order they came in. */
export const columnOrder = (names: Iterable<string>): string[] =>
  [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export const readingsHeader = (metrics: readonly string[]): string =>
  line(['timestamp', ...metrics].map(csvText));

/** One reading per record; a metric the reading lacks is an empty field. */
export const readingRows = (readings: readonly ReadingItem[], metrics: readonly string[]): string =>
  readings
    .map((reading) =>
      line([reading.timestamp, ...metrics.map((metric) => csvNumber(reading.metrics[metric]))]),
    )
    .join('');

export const bucketsHeader = (metrics: readonly string[]): string =>
  line(
    ['start', 'end', ...metrics.flatMap((metric) => BUCKET_STATS.map((stat) => `${metric}_${stat}`))].map(
      csvText,
    ),
  );

/** One bucket per record; a metric without readings in the bucket leaves its fields empty. */
export const bucketRows = (buckets: readonly BucketAggregate[], metrics: readonly string[]): string =>
  buckets
    .map((bucket) =>
      line([
        bucket.start,
        bucket.end,
        ...metrics.flatMap((metric) => BUCKET_STATS.map((stat) => csvNumber(bucket.metrics[metric]?.[stat]))),
      ]),
    )
    .join('');

/**
 * Writes a CSV export in two passes over the same range, never holding more than a page: the
 * first collects the column names (which only the rows can tell), the second writes the header
 * and then each page's rows as one chunk, at the sink's pace. A metric first stored between the
 * passes has no column and is left out of its row (the export is of the range as the first pass
 * found it).
 */
export const writeCsv = async <T>(
  source: {
    readonly names: () => AsyncIterable<readonly string[]>;
    readonly pages: () => AsyncIterable<readonly T[]>;
    readonly header: (metrics: readonly string[]) => string;
    readonly rows: (page: readonly T[], metrics: readonly string[]) => string;
  },
  sink: CsvSink,
): Promise<void> => {
  const seen = new Set<string>();
  for await (const names of source.names()) for (const name of names) seen.add(name);
  const metrics = columnOrder(seen);
  await sink(source.header(metrics));
  for await (const page of source.pages()) if (page.length > 0) await sink(source.rows(page, metrics));
};
