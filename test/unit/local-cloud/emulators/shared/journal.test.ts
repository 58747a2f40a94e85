import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, JournalCorruptError } from '../../../../../local-cloud/emulators/shared/journal.ts';

interface Work {
  readonly step: number;
}

const decode = (value: unknown): Work => {
  if (typeof value !== 'object' || value === null || !('step' in value) || typeof value.step !== 'number')
    throw new Error('not work');
  return { step: value.step };
};

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sensorbus-journal-'));
  file = join(dir, 'work.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('a journal', () => {
  it('recovers, after the process is gone, the work put and not done, with its latest state, oldest first', () => {
    const first = new Journal({ file, decode });
    first.putAll([
      { id: 'a', value: { step: 1 } },
      { id: 'b', value: { step: 1 } },
      { id: 'c', value: { step: 1 } },
    ]);
    first.done('b');
    first.put('a', { step: 2 });
    // no close(): the process was killed

    const second = new Journal({ file, decode });

    expect(second.recovered()).toEqual([
      { id: 'c', value: { step: 1 } },
      { id: 'a', value: { step: 2 } },
    ]);
    expect(second.size).toBe(2);
    expect(second.has('b')).toBe(false);
  });

  it('ignores a last line torn by a kill mid-write, and appends cleanly after it', () => {
    const first = new Journal({ file, decode });
    first.put('a', { step: 1 });
    appendFileSync(file, '{"put":"b","value":{"st');

    const second = new Journal({ file, decode });
    second.put('c', { step: 1 });
    const third = new Journal({ file, decode });

    expect(second.recovered().map((entry) => entry.id)).toEqual(['a']);
    expect(third.recovered().map((entry) => entry.id)).toEqual(['a', 'c']);
    expect(lines().every((line) => JSON.parse(line))).toBe(true);
  });

  it('refuses a complete line that is not a record, naming the file and line', () => {
    writeFileSync(file, '{"put":"a","value":{"step":1}}\nnot json\n{"done":"a"}\n');

    expect(() => new Journal({ file, decode })).toThrow(JournalCorruptError);
    expect(() => new Journal({ file, decode })).toThrow(`${file} line 2: not a journal record`);
  });

  it('refuses a recovered value its owner does not recognise', () => {
    writeFileSync(file, '{"put":"a","value":{"colour":"red"}}\n');

    expect(() => new Journal({ file, decode })).toThrow(/line 1: a value the journal owner refuses/);
  });

  it('compacts once done records dominate, so the file stays bounded by the pending work', () => {
    const journal = new Journal({ file, decode, compactAfter: 50 });
    journal.put('kept', { step: 1 });
    let largest = 0;
    for (let i = 0; i < 5000; i++) {
      journal.put(`w${i}`, { step: 1 });
      journal.done(`w${i}`);
      largest = Math.max(largest, statSync(file).size);
    }

    journal.close();

    expect(lines().length).toBeLessThanOrEqual(2 * 50 + 3);
    expect(largest).toBeLessThan(200 * 50);
    expect(new Journal({ file, decode }).recovered()).toEqual([{ id: 'kept', value: { step: 1 } }]);
  });

  it('writes the done records of one turn of the event loop together, by the end of that turn', async () => {
    const journal = new Journal({ file, decode });
    journal.putAll([
      { id: 'a', value: { step: 1 } },
      { id: 'b', value: { step: 1 } },
    ]);
    journal.done('a');
    journal.done('b');
    const before = lines().length;
    await new Promise((resolve) => setImmediate(resolve));

    expect(before).toBe(2);
    expect(lines().slice(2)).toEqual(['{"done":"a"}', '{"done":"b"}']);
    expect(new Journal({ file, decode }).recovered()).toEqual([]);
  });

  it('keeps nothing on disk in memory mode, and recovers nothing', () => {
    const journal = new Journal<Work>({ decode });
    journal.put('a', { step: 1 });

    expect(journal.size).toBe(1);
    expect(new Journal<Work>({ decode }).recovered()).toEqual([]);
  });

  it('ignores writes after close, leaving the work to be recovered', () => {
    const journal = new Journal({ file, decode });
    journal.put('a', { step: 1 });
    journal.close();
    journal.done('a');

    expect(new Journal({ file, decode }).recovered().map((entry) => entry.id)).toEqual(['a']);
  });
});

describe('reading pending work back', () => {
  it('reads the latest value of live work from the file, across compaction and a restart, and nothing of done work', () => {
    const journal = new Journal({ file, decode, compactAfter: 2 });
    journal.putAll([
      { id: 'a', value: { step: 1 } },
      { id: 'b', value: { step: 1 } },
    ]);
    journal.put('a', { step: 2 });
    for (let i = 0; i < 5; i++) {
      journal.put(`x${i}`, { step: 0 });
      journal.done(`x${i}`);
    }
    const beforeRestart = [journal.read('a'), journal.read('b'), journal.read('x0')];
    journal.close();
    const restarted = new Journal({ file, decode });
    restarted.put('c', { step: 7 });

    expect(beforeRestart).toEqual([{ step: 2 }, { step: 1 }, undefined]);
    expect([...restarted.ids()]).toEqual(['b', 'a', 'c']);
    expect(restarted.read('a')).toEqual({ step: 2 });
    expect(restarted.read('c')).toEqual({ step: 7 });
  });

  it('reads back from memory when it has no file', () => {
    const journal = new Journal({ decode });
    journal.put('a', { step: 3 });
    journal.put('b', { step: 4 });
    journal.done('b');

    expect([journal.read('a'), journal.read('b')]).toEqual([{ step: 3 }, undefined]);
  });
});
