import { describe, expect, it } from 'vitest';
import {
  streamedAtLastUpload,
  WATCH_MARK_SETTLE_SECONDS,
} from '../../../../handlers/enrichment/silence-store.ts';
import { CONNECTION_LIFETIME_SECONDS } from '../../../../handlers/lib/connections-store.ts';

const MARKED = Date.parse('2026-11-23T10:00:00.000Z');
/** The watch a subscribe at 10:00 marks. */
const UNTIL = new Date(MARKED + CONNECTION_LIFETIME_SECONDS * 1000).toISOString();
const at = (secondsAfterMark: number) => new Date(MARKED + secondsAfterMark * 1000).toISOString();

describe('streamedAtLastUpload', () => {
  it('takes an upload under the watch the device is marked with as streamed', () => {
    expect(streamedAtLastUpload(at(WATCH_MARK_SETTLE_SECONDS), UNTIL)).toBe(true);
    expect(streamedAtLastUpload(at(CONNECTION_LIFETIME_SECONDS - 1), UNTIL)).toBe(true);
  });

  it('takes an upload just after the mark, before it, or after the watch ended as possibly buffered', () => {
    // The ingest reads the mark eventually consistent: in the moment after it, it may not see it.
    expect(streamedAtLastUpload(at(WATCH_MARK_SETTLE_SECONDS - 1), UNTIL)).toBe(false);
    expect(streamedAtLastUpload(at(-600), UNTIL)).toBe(false);
    expect(streamedAtLastUpload(at(CONNECTION_LIFETIME_SECONDS), UNTIL)).toBe(false);
  });

  it('takes a device never watched, or a reading without its receipt, as possibly buffered', () => {
    expect(streamedAtLastUpload(at(600), undefined)).toBe(false);
    expect(streamedAtLastUpload(undefined, UNTIL)).toBe(false);
  });
});
