import { resolve } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { FleetSize } from '../fleet.ts';

/** The repository root: handler entries and schema files are resolved from here, never from the cwd. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The stage that keeps nothing when it is destroyed; every other stage retains its data. */
export const DISPOSABLE_STAGE = 'dev';

/** One deployment of sensorbus: `dev`, `staging`, `prod`, a developer's own stage... */
export interface StageConfig {
  readonly name: string;
  /**
   * The one origin CORS allows, when it is not the stage's own dashboard distribution (the default):
   * a dashboard on a custom domain, or a local one (`http://localhost:8080`) pointed at AWS.
   */
  readonly dashboardOrigin?: string;
  /** The fleet the stage is sized for (`-c fleetDevices=... -c fleetUploadSeconds=...`); `DEFAULT_FLEET` when absent. */
  readonly fleet?: FleetSize;
}

const STAGE_NAME = /^[a-z][a-z0-9]{0,11}$/;

const isOrigin = (text: string): boolean => {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
};

/** Validates the context values the app is synthesised with (`-c stage=... -c dashboardOrigin=...`). */
export const stageConfig = (stage: unknown, dashboardOrigin: unknown): StageConfig => {
  const name = stage ?? DISPOSABLE_STAGE;
  if (typeof name !== 'string' || !STAGE_NAME.test(name)) {
    throw new Error(
      `Context "stage" must match ${STAGE_NAME} (it prefixes every resource name); got ${name}`,
    );
  }
  if (dashboardOrigin === undefined) return { name };
  if (typeof dashboardOrigin !== 'string' || !isOrigin(dashboardOrigin)) {
    throw new Error(
      `Context "dashboardOrigin" must be an origin like https://dash.example.com; got ${String(dashboardOrigin)}`,
    );
  }
  return { name, dashboardOrigin };
};

/** Stateful resources survive `cdk destroy` everywhere but in the disposable stage. */
export const isDisposable = (stage: StageConfig): boolean => stage.name === DISPOSABLE_STAGE;

export const dataRemovalPolicy = (stage: StageConfig): RemovalPolicy =>
  isDisposable(stage) ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

/** Physical name of a resource the topology names `sensorbus-...`: `dev-sensorbus-readings`. */
export const physicalName = (stage: StageConfig, name: string): string => `${stage.name}-${name}`;

/** Physical name of something the topology keys in camelCase: `bearerAuthorizer` → `dev-sensorbus-bearer-authorizer`. */
export const physicalNameOfKey = (stage: StageConfig, key: string): string =>
  physicalName(stage, `sensorbus-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`);

/** `Object.fromEntries` over a record, keeping its key type. */
export const mapRecord = <K extends string, V, R>(
  record: Readonly<Record<K, V>>,
  fn: (value: V, key: K) => R,
): Record<K, R> => {
  const keys = Object.keys(record) as K[];
  return Object.fromEntries(keys.map((key) => [key, fn(record[key], key)])) as Record<K, R>;
};

/** Looks a key up in a record built from the topology, failing loudly when the topology and the stacks disagree. */
export const lookup = <K extends string, V>(record: Partial<Record<K, V>>, key: K, what: string): V => {
  const value = record[key];
  if (value === undefined) throw new Error(`${what} "${key}" is not declared`);
  return value;
};
