import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArchivedEvent, Archives } from '../../../../../local-cloud/emulators/eventbridge/archives.ts';

const DAY_MS = 86_400_000;
const BUS = 'retention-test';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sensorbus-archives-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const archivedDaysAgo = (days: number): ArchivedEvent => {
  const at = new Date(Date.now() - days * DAY_MS).toISOString();
  return { event: { time: at }, ingestionTime: at };
};

const lines = () =>
  readFileSync(join(dir, `${BUS}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line !== '');

describe('archive retention', () => {
  const create = (archives: Archives, retentionDays: number) =>
    archives.create({ name: BUS, busName: BUS, eventSourceArn: `arn:${BUS}`, retentionDays });

  it('keeps no event past its retention, on a read and in the file once the archive is opened again', () => {
    const archives = new Archives(dir);
    create(archives, 30);
    archives.append(BUS, [archivedDaysAgo(45), archivedDaysAgo(31), archivedDaysAgo(29), archivedDaysAgo(0)]);

    expect(
      archives
        .events(BUS)
        .map((entry) => Math.round((Date.now() - Date.parse(entry.ingestionTime)) / DAY_MS)),
    ).toEqual([29, 0]);
    expect(archives.size(archives.get(BUS)).EventCount).toBe(2);
    expect(lines()).toHaveLength(4);
    archives.close();

    const reopened = new Archives(dir);
    expect(lines()).toHaveLength(2);
    expect(reopened.events(BUS)).toHaveLength(2);
    reopened.close();
  });

  it('keeps every event for ever at a retention of 0 days, in memory too', () => {
    const archives = new Archives();
    create(archives, 0);
    archives.append(BUS, [archivedDaysAgo(4000), archivedDaysAgo(1)]);
    expect(archives.events(BUS)).toHaveLength(2);

    archives.update(BUS, { retentionDays: 7 });
    expect(archives.events(BUS)).toHaveLength(1);
  });
});
