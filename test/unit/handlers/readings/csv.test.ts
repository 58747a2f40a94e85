import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  columnOrder,
  csvText,
  readingRows,
  readingsHeader,
  writeCsv,
} from '../../../../handlers/readings/csv.ts';

/** An RFC 4180 reader of one record, to check that what is written reads back as the text it was. */
const parseRecord = (line: string): string[] => {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] === '"') {
      let value = '';
      at += 1;
      for (;;) {
        const quote = line.indexOf('"', at);
        value += line.slice(at, quote);
        at = quote + 1;
        if (line[at] === '"') {
          value += '"';
          at += 1;
        } else break;
      }
      fields.push(value);
    } else {
      const comma = line.indexOf(',', at);
      fields.push(line.slice(at, comma < 0 ? undefined : comma));
      at = comma < 0 ? line.length : comma;
    }
    if (at >= line.length) return fields;
    at += 1;
  }
};

describe('CSV fields', () => {
  it('quotes a field holding a comma, a quote or a line break, doubling its quotes (RFC 4180)', () => {
    expect(csvText('plain')).toBe('plain');
    expect(csvText('a,b')).toBe('"a,b"');
    expect(csvText('say "hi"')).toBe('"say ""hi"""');
    expect(csvText('two\r\nlines')).toBe('"two\r\nlines"');
  });

  it('prefixes a field a spreadsheet would take for a formula with a quote (OWASP CSV injection)', () => {
    expect(csvText('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvText('+1')).toBe("'+1");
    expect(csvText('-2+3')).toBe("'-2+3");
    expect(csvText('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvText('\tx')).toBe("'\tx");
  });

  it('reads back as the text written, and never starts with a formula character, whatever the text', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), (texts) => {
        const fields = parseRecord(texts.map(csvText).join(','));
        expect(fields).toHaveLength(texts.length);
        fields.forEach((field, i) => {
          expect(field).toBe(/^[=+\-@\t\r]/.test(texts[i] ?? '') ? `'${texts[i]}` : texts[i]);
          expect(field).not.toMatch(/^[=+\-@\t\r]/);
        });
      }),
    );
  });
});

describe('CSV export', () => {
  it('writes the header of every metric of every page, then one chunk of rows per page', async () => {
    const pages = [
      [{ timestamp: '2026-11-24T09:00:00.000Z', metrics: { t: -1.5 } }],
      [],
      [{ timestamp: '2026-11-24T09:00:01.000Z', metrics: { h: 40, b: 1e-7 } }],
    ].map((page) =>
      page.map((reading) => ({
        ...reading,
        deviceId: 'd',
        receivedAt: '',
        readingId: '',
        correlationId: '',
      })),
    );
    const chunks: string[] = [];
    await writeCsv(
      {
        names: async function* () {
          for (const page of pages) yield page.flatMap((reading) => Object.keys(reading.metrics));
        },
        pages: async function* () {
          yield* pages;
        },
        header: readingsHeader,
        rows: readingRows,
      },
      async (text) => {
        chunks.push(text);
      },
    );
    expect(chunks).toEqual([
      'timestamp,b,h,t\r\n',
      '2026-11-24T09:00:00.000Z,,,-1.5\r\n',
      '2026-11-24T09:00:01.000Z,1e-7,40,\r\n',
    ]);
  });

  it('orders columns by code point, each once', () => {
    expect(columnOrder(['b', 'B', 'a', 'b', 'a_1'])).toEqual(['B', 'a', 'a_1', 'b']);
  });
});
