import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functions } from '../../../../infra/api.ts';
import { type Bundle, type Bundles, bundleFunctions, MAX_BUNDLE_KIB } from '../../../bench/bundles.ts';

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
const bundleOf = (name: FunctionName): Bundle => {
  const bundle = bundles?.bundles.find((b) => b.name === name);
  if (!bundle) throw new Error(`${name} was not bundled`);
  return bundle;
};
const inputsOf = (name: FunctionName): string[] => bundleOf(name).inputs.map((input) => input.path);

/** The AWS SDK clients a bundle carries, by package name. */
const sdkClientsOf = (name: FunctionName): string[] => [
  ...new Set(
    inputsOf(name).flatMap((path) => /node_modules\/(@aws-sdk\/client-[^/]+)\//.exec(path)?.[1] ?? []),
  ),
];

const requireHere = createRequire(import.meta.url);
/**
 * A client with event-stream operations gives its runtime config an event-stream serde provider
 * (e.g. `@aws-sdk/client-lambda`'s, for InvokeWithResponseStream); a client without has none.
 */
const hasEventStreams = (client: string): boolean => {
  const root = dirname(requireHere.resolve(`${client}/package.json`));
  return ['runtimeConfig.js', 'runtimeConfig.shared.js'].some((file) =>
    readFileSync(join(root, 'dist-es', file), 'utf8').includes('eventStreamSerdeProvider'),
  );
};

/**
 * The schema `verifyToken` parses a bearer token's claims with (`handlers/lib/auth.ts`), as it reads
 * minified: `z.object({ role, devices, jti })`.
 */
const BEARER_CLAIMS_SCHEMA = /role:[\w$]+,devices:[\w$]+,jti:/;
const carriesBearerClaims = (name: FunctionName): boolean =>
  BEARER_CLAIMS_SCHEMA.test(readFileSync(bundleOf(name).file, 'utf8'));

/** Whether a function's minified bundle holds a match of `pattern`. */
const carries =
  (pattern: RegExp) =>
  (name: FunctionName): boolean =>
    pattern.test(readFileSync(bundleOf(name).file, 'utf8'));

/**
 * `AlertEscalated`'s data schema (`schemas/events.ts`) as it reads minified:
 * `escalation: z.int().check(z.positive()), escalateAfterMinutes: …`.
 */
const carriesAlertEscalated = carries(/escalation:[\w$]+\(\)\.check\([\w$]+\(\)\),escalateAfterMinutes:/);

/**
 * The stored device's schema (`DeviceItem`, `handlers/lib/devices-store.ts`) as it reads minified:
 * a field only it names, its value built by a call (`previousApiKeyHash: z.optional(z.string())`);
 * the adapters' writes name the field in expressions only.
 */
const carriesDeviceItem = carries(/previousApiKeyHash:[\w$]+\(/);

/** The alert record's schema (`schemas/alert-record.ts`) as it reads minified: `timeline: z._default(z.array(…))`. */
const carriesAlertRecord = carries(/timeline:[\w$]+\(/);

/** The enrichments table's items' schemas (`handlers/lib/enrichments-store.ts`) as they read minified: `slot: z.string(), startedAt: …`. */
const carriesEnrichmentItems = carries(/slot:[\w$]+\(\),startedAt:/);

/** The EventBridge client, by the service's name in its requests' `X-Amz-Target` (`AWSEvents.PutEvents`). */
const carriesEventBridge = carries(/AWSEvents/);

/** The key rotation's request schema (`RotateKeyRequest`, `schemas/device.ts`) as it reads minified. */
const carriesRotateKeyRequest = carries(/graceSeconds:[\w$]+\(/);

/** The batch envelope's schema (`BatchEnvelope`, `schemas/reading.ts`), by its message for an empty batch. */
const carriesBatchEnvelope = carries(/must hold at least 1 reading/);

describe('function bundles', () => {
  it.each(names)(`%s weighs at most ${MAX_BUNDLE_KIB} KiB`, (name) => {
    expect(bundleOf(name).bytes / 1024).toBeLessThanOrEqual(MAX_BUNDLE_KIB);
  });

  it('recognises a client with event-stream operations (the check below is not vacuous)', () => {
    expect(hasEventStreams('@aws-sdk/client-lambda')).toBe(true);
  });

  it.each(names)('%s uses no SDK client with event streams, which the bundle leaves out', (name) => {
    const clients = sdkClientsOf(name);
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.filter(hasEventStreams)).toEqual([]);
    expect(
      inputsOf(name).filter((path) => path.includes('@smithy/core/dist-es/submodules/event-streams/')),
    ).toEqual([]);
  });

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

  it('builds the bearer-token claims schema only in the functions that verify bearer tokens', () => {
    // handlers/lib's schemas are marked pure, so a function that imports auth.ts for something
    // else (ingest hashes device keys with it) leaves them out instead of building them at init.
    expect(carriesBearerClaims('bearerAuthorizer')).toBe(true);
    expect(carriesBearerClaims('websocketAuthorizer')).toBe(true);
    expect(names.filter(carriesBearerClaims).sort()).toEqual(['bearerAuthorizer', 'websocketAuthorizer']);
  });

  it('builds no event schema in the push function, which routes events by their detail-type only', () => {
    // Building the seven events' schemas took about a quarter of its init.
    expect(carriesAlertEscalated('alertEscalation')).toBe(true);
    expect(carriesAlertEscalated('push')).toBe(false);
  });

  it('builds only the alert events it parses or publishes in the alert history, which recognises the others by name', () => {
    expect(carriesAlertEscalated('alertEscalation')).toBe(true);
    expect(carriesAlertEscalated('alertHistory')).toBe(false);
  });

  it("builds the stored device's schema only in the functions that read whole devices", () => {
    // The others read or write single attributes (`dynamoDeviceFields`, `dynamoDeviceAlarms`): the
    // ingest, the relay, the alert history, the silence check, the alert actions, the escalation
    // check, the readings API and the WebSocket messages built it at init for nothing.
    expect(names.filter(carriesDeviceItem).sort()).toEqual(['deviceRegistry', 'devices', 'evaluateAlarms']);
  });

  it('keeps the device reads, which every dashboard makes every 30 s, apart from what the registry changes need', () => {
    expect(carriesEventBridge('deviceRegistry')).toBe(true);
    expect(carriesRotateKeyRequest('deviceRegistry')).toBe(true);
    expect(carriesEventBridge('devices')).toBe(false);
    expect(carriesRotateKeyRequest('devices')).toBe(false);
    expect(carriesAlertRecord('devices')).toBe(false);
  });

  it("builds the alert record's schema only in the functions that read whole alert records", () => {
    // The notifier reads one attribute, the alarm evaluation and the silence check write claims (`dynamoAlertMarks`).
    expect(names.filter(carriesAlertRecord).sort()).toEqual([
      'alertEscalation',
      'alertHistory',
      'alerts',
      'deviceRegistry',
    ]);
  });

  it("builds the enrichments table's item schemas only in the function that reads enrichments", () => {
    // The derivation writes them (`dynamoEnrichmentWrites`) and never parses one.
    expect(names.filter(carriesEnrichmentItems)).toEqual(['readings']);
  });

  it('builds the batch envelope only in the ingest function, which parses batches', () => {
    // Its message was a template literal, which esbuild cannot tell free of side effects: the
    // schema stayed, built at init, in every bundle importing `schemas/reading.ts`.
    expect(names.filter(carriesBatchEnvelope)).toEqual(['ingest']);
  });
});
