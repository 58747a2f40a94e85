import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiersOf } from '../../../support/import-graph.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const emulatorsDir = join(repoRoot, 'local-cloud/emulators');

/** What a generic emulator must never reach: sensorbus's declarations, code, contract, web app and launcher. */
const FORBIDDEN = ['infra/', 'handlers/', 'schemas/', 'web/', 'local-cloud/launcher/'];

/** The repository-relative paths a file's relative imports reach that a generic emulator may not. */
const violationsOf = (file: string, source: string): string[] =>
  specifiersOf(source)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) =>
      relative(repoRoot, resolve(dirname(file), specifier))
        .split('\\')
        .join('/'),
    )
    .filter((target) => FORBIDDEN.some((prefix) => target.startsWith(prefix)));

describe('the generic emulators import graph', () => {
  it('finds a violation in every import form, so a clean result means something', () => {
    const file = join(emulatorsDir, 'sns/example.ts');
    const source = [
      "import { tables } from '../../../infra/topology.ts';",
      "import type { ErrorBody } from '../../../schemas/error.ts';",
      "export { x } from '../../launcher/arns.ts';",
      "import '../../../web/app.ts';",
      "const later = await import('../../../handlers/lib/http.ts');",
      "import {\n  a,\n  b,\n} from '../shared/faults.ts';",
      "import { z } from 'zod';",
    ].join('\n');

    expect(violationsOf(file, source)).toEqual([
      'infra/topology.ts',
      'schemas/error.ts',
      'local-cloud/launcher/arns.ts',
      'web/app.ts',
      'handlers/lib/http.ts',
    ]);
  });

  it('lets no module under local-cloud/emulators reach infra/, handlers/, schemas/, web/ or the launcher', () => {
    const files = sourceFiles(emulatorsDir);
    const violations = files.flatMap((file) =>
      violationsOf(file, readFileSync(file, 'utf8')).map(
        (target) => `${relative(repoRoot, file)} imports ${target}`,
      ),
    );

    expect(files.length).toBeGreaterThan(10);
    expect(violations).toEqual([]);
  });
});
