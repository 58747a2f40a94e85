import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildFunctions,
  type FunctionBuildOptions,
} from '../../../../../local-cloud/emulators/lambda/function-builds.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sensorbus-function-builds-'));
  mkdirSync(join(root, 'src'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const options = (): FunctionBuildOptions => ({
  rootDir: root,
  entries: { greet: 'src/greet.ts', shout: 'src/shout.ts' },
  esbuild: { bundle: true, platform: 'node', format: 'esm', logLevel: 'silent' },
  cacheDir: join(root, 'cache'),
});

/** A module both functions import, so that an edit of it reaches both bundles. */
const writeWords = (word: string, mtime: Date) => {
  const file = join(root, 'src/words.ts');
  writeFileSync(file, `export const word: string = ${JSON.stringify(word)};\n`);
  utimesSync(file, mtime, mtime);
};

const writeHandlers = () => {
  writeFileSync(
    join(root, 'src/greet.ts'),
    "import { word } from './words.ts';\nexport const handler = async () => 'hello ' + word;\n",
  );
  writeFileSync(
    join(root, 'src/shout.ts'),
    "import { word } from './words.ts';\nexport const handler = async () => word.toUpperCase();\n",
  );
};

/** What a bundle's handler answers, imported fresh (a query string makes it a module of its own). */
const run = async (file: string | undefined): Promise<unknown> => {
  if (!file) throw new Error('no bundle');
  const module = (await import(`${pathToFileURL(file).href}?${Math.random()}`)) as {
    handler: () => Promise<unknown>;
  };
  return module.handler();
};

describe('function builds', () => {
  it('bundles every entry into JavaScript that runs without the sources', async () => {
    writeHandlers();
    writeWords('world', new Date('2026-01-01T00:00:00Z'));

    const { files, reused } = await buildFunctions(options());

    expect(reused).toBe(false);
    expect(Object.keys(files).sort()).toEqual(['greet', 'shout']);
    expect(files.greet).toMatch(/greet\.mjs$/);
    rmSync(join(root, 'src'), { recursive: true });
    expect([await run(files.greet), await run(files.shout)]).toEqual(['hello world', 'WORLD']);
  });

  it('reuses the bundles of an earlier start while no input changed, and builds them again once one did', async () => {
    writeHandlers();
    writeWords('world', new Date('2026-01-01T00:00:00Z'));
    const first = await buildFunctions(options());

    const again = await buildFunctions(options());
    writeWords('there', new Date('2026-01-01T00:00:05Z'));
    const edited = await buildFunctions(options());

    expect(again).toEqual({ files: first.files, reused: true });
    expect(edited.reused).toBe(false);
    expect(edited.files.greet).not.toBe(first.files.greet);
    expect([await run(edited.files.greet), await run(edited.files.shout)]).toEqual(['hello there', 'THERE']);
    // The earlier bundles stay for a process that started from them.
    expect(await run(first.files.greet)).toBe('hello world');
  });

  it('builds again once the TypeScript settings, which esbuild reads beside the modules, changed', async () => {
    writeHandlers();
    writeWords('world', new Date('2026-01-01T00:00:00Z'));
    const settings = join(root, 'tsconfig.json');
    writeFileSync(settings, '{}\n');
    utimesSync(settings, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    await buildFunctions(options());

    utimesSync(settings, new Date('2026-01-01T00:00:09Z'), new Date('2026-01-01T00:00:09Z'));
    const again = await buildFunctions(options());

    expect(again.reused).toBe(false);
  });

  it('builds again for other build options, beside the bundles of the first', async () => {
    writeHandlers();
    writeWords('world', new Date('2026-01-01T00:00:00Z'));
    const plain = await buildFunctions(options());

    const minified = await buildFunctions({ ...options(), esbuild: { ...options().esbuild, minify: true } });

    expect(minified.reused).toBe(false);
    expect(readdirSync(join(root, 'cache'))).toHaveLength(2);
    expect(await run(minified.files.greet)).toBe('hello world');
    expect((await buildFunctions(options())).files).toEqual(plain.files);
  });
});
