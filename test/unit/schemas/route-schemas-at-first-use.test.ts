import { describe, expect, it, vi } from 'vitest';

/** zod's object and union builders, counted: every schema below is built from one of them. */
const built = vi.hoisted(() => ({ objects: 0, unions: 0 }));
vi.mock('zod/mini', async (importOriginal) => {
  const zod = await importOriginal<typeof import('zod/mini')>();
  const counted = <F extends (...args: never[]) => unknown>(build: F, count: 'objects' | 'unions'): F =>
    ((...args: Parameters<F>) => {
      built[count]++;
      return build(...args);
    }) as F;
  return {
    ...zod,
    object: counted(zod.object, 'objects'),
    strictObject: counted(zod.strictObject, 'objects'),
    union: counted(zod.union, 'unions'),
  };
});

const buildsOfAll = () => built.objects + built.unions;

describe('schemas of one route or a rare path', () => {
  it.each([
    {
      schema: 'PutDeviceRequest',
      load: async () => (await import('../../../schemas/device.ts')).PutDeviceRequest,
      valid: {},
    },
    {
      schema: 'RotateKeyRequest',
      load: async () => (await import('../../../schemas/device.ts')).RotateKeyRequest,
      valid: { graceSeconds: 60 },
    },
    {
      schema: 'AlertsQuery',
      load: async () => (await import('../../../schemas/alert.ts')).AlertsQuery,
      valid: { state: 'active' },
    },
    {
      schema: 'SnoozeRequest',
      load: async () => (await import('../../../schemas/alert.ts')).SnoozeRequest,
      valid: { minutes: 5 },
    },
    {
      schema: 'AlertRecord',
      load: async () => (await import('../../../schemas/alert-record.ts')).AlertRecord,
      valid: {
        alertId: 'a-1',
        deviceId: 'd-1',
        kind: 'threshold',
        severity: 'warning',
        state: 'active',
        summary: 'temperature above 30',
        updatedAt: '2026-12-03T10:00:00.000Z',
      },
    },
  ])('$schema is built at its first use, not at import, and once', async ({ load, valid }) => {
    // Prepare: a fresh import is what a function's init does (the unit tests share one module
    // registry, where another test may have built the schema already).
    vi.resetModules();
    const schemaOf = await load();
    const atImport = buildsOfAll();

    // Act
    const first = schemaOf();
    const atFirstUse = buildsOfAll();
    const second = schemaOf();

    // Assess
    expect(atFirstUse).toBeGreaterThan(atImport);
    expect(second).toBe(first);
    expect(buildsOfAll()).toBe(atFirstUse);
    expect(first.safeParse(valid).success).toBe(true);
  });
});
