import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functions } from '../../../../infra/api.ts';
import { type Bundle, type Bundles, bundleFunctions } from '../../../bench/bundles.ts';

/**
 * What every function's bundle is made of, built from the settings the CDK construct deploys with
 * (`infra/aws/function-bundle.ts`; the CDK tests check the files are the same): the size and
 * cold-start decisions (zod's functional API, the SDK without its default credential chain)
 * hold for every function, including the next one added.
 */
let bundles: Bundles | undefined;
beforeAll(async () => {
  bundles = await bundleFunctions();
}, 120_000);
afterAll(() => bundles?.remove());

const names = Object.keys(functions) as FunctionName[];
const inputsOf = (name: FunctionName): string[] => {
  const bundle: Bundle | undefined = bundles?.bundles.find((b) => b.name === name);
  if (!bundle) throw new Error(`${name} was not bundled`);
  return bundle.inputs.map((input) => input.path);
};

describe('function bundles', () => {
  it.each(names)('%s validates with zod/mini and the English locale only, not classic zod', (name) => {
    const zod = inputsOf(name).filter((path) => path.includes('node_modules/zod/'));
    expect(zod.length).toBeGreaterThan(0);
    expect(zod.filter((path) => path.includes('/v4/classic/'))).toEqual([]);
    expect(zod.filter((path) => path.includes('/v4/locales/') && !path.endsWith('/en.js'))).toEqual([]);
  });

  it.each(names)('%s carries the SDK, but not the credential links Lambda never uses', (name) => {
    const inputs = inputsOf(name);
    expect(inputs.some((path) => path.includes('node_modules/@aws-sdk/client-'))).toBe(true);
    expect(
      inputs.filter((path) =>
        /node_modules\/@aws-sdk\/(credential-provider-(node|sso|ini|process|web-identity|login)|nested-clients)\//.test(
          path,
        ),
      ),
    ).toEqual([]);
  });
});
