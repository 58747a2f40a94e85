/**
 * Lambda runs a function's deployment package, not its sources: the local runtime runs each
 * function from the bundle esbuild makes of it with the options the deployment uses, one ESM file
 * per function that an execution environment imports as plain JavaScript (no TypeScript loader
 * in each environment). The bundles of one set of entries and options are built in one esbuild
 * call and kept in a cache directory between starts; a start reuses them while every file that
 * went into them is unchanged (its size and modification time, as esbuild's metafile lists the
 * inputs), and builds them again otherwise, so an edited handler runs from the next start on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, build, version as esbuildVersion } from 'esbuild';

/** What {@link buildFunctions} builds, and where it keeps the result. */
export interface FunctionBuildOptions {
  /** The directory entries, and the inputs esbuild lists, are relative to. */
  readonly rootDir: string;
  /** Each function's handler module, relative to `rootDir`, by function name. */
  readonly entries: Readonly<Record<string, string>>;
  /**
   * How every bundle is made (format, target, minification, aliases, banner, source maps), as
   * the deployment makes it; the entries, output and metafile are set here.
   */
  readonly esbuild: Omit<BuildOptions, 'entryPoints' | 'outdir' | 'outfile' | 'metafile' | 'write'>;
  /** Where bundles are kept between starts. */
  readonly cacheDir: string;
}

export interface FunctionBuilds {
  /** Each function's bundle (an absolute path), by function name. */
  readonly files: Readonly<Record<string, string>>;
  /** Whether the bundles of an earlier start were reused, nothing having changed. */
  readonly reused: boolean;
}

/** An input of a build: its path relative to the root, its size and modification time then. */
type InputStamp = readonly [path: string, size: number, mtimeMs: number];

interface CurrentBuild {
  /** The folder (beside this record) that holds the bundles. */
  readonly folder: string;
  readonly inputs: readonly InputStamp[];
}

/**
 * Files esbuild reads besides the modules, which its metafile does not list: TypeScript settings
 * change how sources compile, and the package file how packages resolve.
 */
const SETTINGS_FILES = ['tsconfig.json', 'package.json'];

/** Builds older than this, other than the current one, are removed (a process started before may still import from one). */
const STALE_BUILD_MS = 60 * 60_000;

const hash = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

const stampOf = (rootDir: string, path: string): InputStamp | undefined => {
  try {
    const stats = statSync(resolve(rootDir, path));
    return [path, stats.size, stats.mtimeMs];
  } catch {
    return undefined;
  }
};

const readCurrent = (file: string): CurrentBuild | undefined => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'folder' in parsed &&
      typeof parsed.folder === 'string' &&
      'inputs' in parsed &&
      Array.isArray(parsed.inputs)
    )
      return { folder: parsed.folder, inputs: parsed.inputs as InputStamp[] };
  } catch {
    // No build yet, or one interrupted: build again.
  }
  return undefined;
};

const unchanged = (rootDir: string, inputs: readonly InputStamp[]): boolean =>
  inputs.every(([path, size, mtimeMs]) => {
    const now = stampOf(rootDir, path);
    return now !== undefined && now[1] === size && now[2] === mtimeMs;
  });

const filesIn = (folder: string, names: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.map((name) => [name, join(folder, `${name}.mjs`)]));

/** Writes a file whole or not at all (another process may read it at any moment). */
const writeAtomically = (file: string, text: string): void => {
  const temporary = `${file}.${randomUUID()}`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
};

const removeStale = (dir: string, keep: string): void => {
  const now = Date.now();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === keep) continue;
    const path = join(dir, entry.name);
    if (now - statSync(path).mtimeMs > STALE_BUILD_MS) rmSync(path, { recursive: true, force: true });
  }
};

/**
 * The bundle of every entry, from the cache when nothing that went into them changed since they
 * were built, built in one esbuild call otherwise. Processes that start at once may each build;
 * each build lands in a folder of its own, renamed into place whole, so none reads another's half.
 */
export const buildFunctions = async (options: FunctionBuildOptions): Promise<FunctionBuilds> => {
  const { rootDir, entries, cacheDir } = options;
  const names = Object.keys(entries).sort();
  if (names.length === 0) return { files: {}, reused: true };
  const dir = join(cacheDir, hash({ esbuildVersion, rootDir, entries, esbuild: options.esbuild }));
  const currentFile = join(dir, 'current.json');
  const current = readCurrent(currentFile);
  if (current && unchanged(rootDir, current.inputs)) {
    const files = filesIn(join(dir, current.folder), names);
    if (Object.values(files).every((file) => stampOf(rootDir, file) !== undefined))
      return { files, reused: true };
  }

  mkdirSync(dir, { recursive: true });
  const building = join(dir, `building-${randomUUID()}`);
  try {
    const { metafile } = await build({
      ...options.esbuild,
      absWorkingDir: rootDir,
      entryPoints: Object.fromEntries(names.map((name) => [name, resolve(rootDir, entries[name] ?? '')])),
      outdir: building,
      outExtension: { '.js': '.mjs' },
      metafile: true,
      write: true,
    });
    const inputs = [...Object.keys(metafile.inputs), ...SETTINGS_FILES]
      .map((path) => stampOf(rootDir, path))
      .filter((stamp) => stamp !== undefined);
    const folder = hash(inputs);
    try {
      renameSync(building, join(dir, folder));
    } catch {
      // Another process built the same inputs first: its folder is the same as this one.
      rmSync(building, { recursive: true, force: true });
    }
    writeAtomically(currentFile, JSON.stringify({ folder, inputs } satisfies CurrentBuild));
    removeStale(dir, folder);
    return { files: filesIn(join(dir, folder), names), reused: false };
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
};
