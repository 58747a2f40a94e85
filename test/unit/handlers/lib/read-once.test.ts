import { describe, expect, it } from 'vitest';
import { readOnce } from '../../../../handlers/lib/read-once.ts';

/** A read whose answers are given in turn, counting how often it was made. */
const reads = (answers: (() => Promise<string>)[]) => {
  let made = 0;
  const read = () => {
    const answer = answers[Math.min(made, answers.length - 1)];
    made += 1;
    if (!answer) throw new Error('no answer given');
    return answer();
  };
  return { read, made: () => made };
};

describe('readOnce', () => {
  it('reads at the first call, not before, and keeps what it read', async () => {
    const source = reads([async () => 'key-1', async () => 'key-2']);

    const value = readOnce(source.read);
    const before = source.made();
    const answers = [await value(), await value(), await value()];

    expect(before).toBe(0);
    expect(answers).toEqual(['key-1', 'key-1', 'key-1']);
    expect(source.made()).toBe(1);
  });

  it('shares one read between calls made while it is in flight', async () => {
    let release: (value: string) => void = () => {};
    const source = reads([() => new Promise<string>((resolve) => (release = resolve))]);

    const value = readOnce(source.read);
    const pending = Promise.all([value(), value(), value()]);
    release('key-1');

    expect(await pending).toEqual(['key-1', 'key-1', 'key-1']);
    expect(source.made()).toBe(1);
  });

  it('does not keep a failed read: the next call reads again', async () => {
    const source = reads([
      async () => {
        throw new Error('Secrets Manager is unreachable');
      },
      async () => 'key-1',
    ]);

    const value = readOnce(source.read);
    const first = value();

    await expect(first).rejects.toThrow('Secrets Manager is unreachable');
    expect(await value()).toBe('key-1');
    expect(await value()).toBe('key-1');
    expect(source.made()).toBe(2);
  });
});
