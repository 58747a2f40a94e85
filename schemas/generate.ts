import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PUBLISHED_SCHEMAS, renderJsonSchema } from './json-schemas.ts';

const outDir = join(import.meta.dirname, 'json');
for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
  const file = join(outDir, `${name}.schema.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderJsonSchema(name, schema));
  console.log(`wrote schemas/json/${name}.schema.json`);
}
