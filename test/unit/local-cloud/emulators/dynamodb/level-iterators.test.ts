import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeIteratorsOnReturn } from '../../../../../local-cloud/emulators/dynamodb/level-iterators.ts';

/** dynalite's own store and the abstract-level its LevelDB modules load. */
const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
const dynaliteStore = fromDynalite('./db/index.js') as {
  create: (options: object) => {
    getItemDb: (table: string) => {
      put: (key: string, value: object, callback: (error?: Error) => void) => void;
      createValueStream: (options: object) => Readable;
    };
  };
};
const { AbstractValueIterator } = fromDynalite('abstract-level') as {
  AbstractValueIterator: { prototype: { close(): Promise<void> } };
};

describe("dynalite's LevelDB iterators", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('are closed when dynalite stops reading one early (a Query at its Limit), so none stays open holding its batch and snapshot', async () => {
    closeIteratorsOnReturn();
    const items = dynaliteStore.create({}).getItemDb('readings');
    for (const n of [1, 2, 3])
      await new Promise<void>((resolve, reject) =>
        items.put(`key-${n}`, { n }, (error) => (error ? reject(error) : resolve())),
      );
    const close = vi.spyOn(AbstractValueIterator.prototype, 'close');

    const stream = items.createValueStream({});
    const [first] = (await once(stream, 'data')) as [unknown];
    stream.destroy();
    await once(stream, 'close');
    await vi.waitFor(() => expect(close).toHaveBeenCalledTimes(1));

    expect(first).toEqual({ n: 1 });
  });
});
