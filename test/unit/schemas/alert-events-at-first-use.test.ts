import { describe, expect, it, vi } from 'vitest';

/**
 * zod's `extend` and `discriminatedUnion`, counted: among the event contracts, only the alert
 * events' schemas call them, so the counts say whether those schemas were built.
 */
const built = vi.hoisted(() => ({ extend: 0, discriminatedUnion: 0 }));
vi.mock('zod/mini', async (importOriginal) => {
  const zod = await importOriginal<typeof import('zod/mini')>();
  return {
    ...zod,
    extend: ((...args: Parameters<typeof zod.extend>) => {
      built.extend++;
      return zod.extend(...args);
    }) as typeof zod.extend,
    discriminatedUnion: ((...args: Parameters<typeof zod.discriminatedUnion>) => {
      built.discriminatedUnion++;
      return zod.discriminatedUnion(...args);
    }) as typeof zod.discriminatedUnion,
  };
});

describe('alert event schemas', () => {
  it('are built at their first use, not when the contracts are imported, and once', async () => {
    // Prepare: importing the contracts afresh is what a function's init does (the unit tests share
    // one module registry, where another test may have built them already). Most functions
    // publish alert events on a rare path only (an alarm's transition, a deletion, an operator's action).
    vi.resetModules();
    built.extend = 0;
    built.discriminatedUnion = 0;
    const { ALERT_EVENTS, AlertEscalated, AlertRaised, AlertResolved, ReadingRecorded } = await import(
      '../../../schemas/events.ts'
    );
    expect(ReadingRecorded.detail.safeParse({}).success).toBe(false);
    expect(ALERT_EVENTS.map((contract) => contract.detailType)).toContain('AlertRaised');
    expect(built).toEqual({ extend: 0, discriminatedUnion: 0 });

    // Act
    const raised = AlertRaised.detail;
    const resolvedData = AlertResolved.data;

    // Assess: the raise's and the resolve's data are one schema, built once.
    expect(built.discriminatedUnion).toBe(1);
    expect(resolvedData).toBe(AlertRaised.data);
    expect(AlertRaised.detail).toBe(raised);
    expect(raised.safeParse({}).success).toBe(false);
    expect(AlertEscalated.data.safeParse({}).success).toBe(false);
    expect(built.discriminatedUnion).toBe(1);
  });
});
