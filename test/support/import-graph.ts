import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every module specifier a source names: static imports and re-exports, side-effect imports, dynamic `import()` and `require()`. */
export const specifiersOf = (source: string): string[] =>
  [
    ...source.matchAll(/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\b(?:import|require)\s*\(\s*['"`]([^'"`$]+)['"`]\s*\)/g),
  ].map((match) => match[1] ?? '');

/** Every TypeScript or JavaScript source below `dir`. */
export const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : /\.[cm]?[jt]s$/.test(entry.name)
        ? [join(dir, entry.name)]
        : [],
  );
