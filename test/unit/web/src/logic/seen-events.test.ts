import { describe, expect, it } from 'vitest';
import { SeenEvents } from '../../../../../web/src/logic/seen-events.ts';

describe('SeenEvents', () => {
  it('takes an event id once and refuses it when it is delivered again', () => {
    const seen = new SeenEvents();

    const first = seen.add('e1');
    const repeat = seen.add('e1');
    const other = seen.add('e2');

    expect([first, repeat, other]).toEqual([true, false, true]);
  });

  it('forgets the oldest ids beyond its capacity, and only those', () => {
    const seen = new SeenEvents(2);
    seen.add('e1');
    seen.add('e2');
    seen.add('e3');

    expect(seen.add('e3')).toBe(false);
    expect(seen.add('e2')).toBe(false);
    expect(seen.add('e1')).toBe(true);
  });
});
