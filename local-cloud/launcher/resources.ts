import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  authorizers,
  type FunctionName,
  functionLimits,
  functions,
  httpApi,
  INTEGRATION_TIMEOUT_SECONDS,
  routes,
  websocketApi,
} from '../../infra/api.ts';
import { FUNCTION_ESBUILD_OPTIONS } from '../../infra/aws/function-bundle.ts';
import { gatewayResponses, renderGatewayResponse } from '../../infra/gateway-responses.ts';
import { buses, type StateMachineSpec, stateMachines, tables } from '../../infra/topology.ts';
import { ErrorBody } from '../../schemas/error.ts';
import type { ErrorBodies } from '../emulators/apigateway/error-bodies.ts';
import type { RestGatewayOptions } from '../emulators/apigateway/rest-gateway.ts';
import type { WebSocketGatewayOptions } from '../emulators/apigateway/websocket-gateway.ts';
import { buildFunctions } from '../emulators/lambda/function-builds.ts';
import type { LocalFunction } from '../emulators/lambda/lambda.ts';
import type { LocalStateMachine } from '../emulators/stepfunctions/stepfunctions.ts';
import { localArns } from './arns.ts';

/**
 * The sensorbus resources the generic emulators serve, built from `infra/`: the emulators take them
 * as options and know nothing of the topology.
 */

/** The repository root: function entries and ASL files are relative to it. */
export const repoRoot = resolve(import.meta.dirname, '../..');

export const functionNames = Object.keys(functions) as FunctionName[];

/** Every function of the API with the limits Lambda enforces on it. */
export const localFunctions = (): Record<string, LocalFunction> =>
  Object.fromEntries(
    functionNames.map((name) => [name, { entry: functions[name].entry, limits: functionLimits(name) }]),
  );

/** Where the functions' bundles are kept between starts (git-ignored, whatever the data directory). */
export const FUNCTION_BUILDS_DIR = join(repoRoot, '.sensorbus', 'functions');

/**
 * The functions with each entry replaced by its bundle, built as CDK deploys it
 * (`infra/aws/function-bundle.ts`), or taken from the last start's when no input changed.
 */
export const bundledFunctions = async (
  functions: Readonly<Record<string, LocalFunction>>,
): Promise<Record<string, LocalFunction>> => {
  const { files } = await buildFunctions({
    rootDir: repoRoot,
    entries: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.entry])),
    esbuild: FUNCTION_ESBUILD_OPTIONS,
    cacheDir: FUNCTION_BUILDS_DIR,
  });
  return Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => [name, { ...fn, entry: files[name] ?? fn.entry }]),
  );
};

/** Error bodies in the contract's shape (`schemas/error.ts`), as the deployed gateway responses answer them. */
export const errorBodies: ErrorBodies = {
  render: renderGatewayResponse,
  narrowToCredential: (body, header) => {
    const parsed = ErrorBody.parse(JSON.parse(body));
    const details = parsed.error.details?.filter((detail) => detail.path === header);
    return JSON.stringify({ error: { ...parsed.error, ...(details ? { details } : {}) } });
  },
  error: (code, message, field) =>
    JSON.stringify({
      error: { code, message, details: field !== undefined ? [{ path: field, message }] : [] },
    } satisfies ErrorBody),
};

/**
 * The routes the local gateway serves on the API port: the HTTP API's (payload format 2.0, no
 * authorizer) and the REST API's (each with its authorizer); the gateway responses and error bodies.
 */
export const restApi = (): Pick<
  RestGatewayOptions,
  'routes' | 'gatewayResponses' | 'bodies' | 'integrationTimeoutMs'
> => ({
  routes: [
    ...httpApi.routes.map((route) => ({
      ...route,
      api: 'http' as const,
      payloadFormatVersion: httpApi.payloadFormatVersion,
    })),
    ...routes.map((route) => ({ ...route, authorizer: authorizers[route.authorizer] })),
  ],
  gatewayResponses: gatewayResponses(routes, authorizers),
  bodies: errorBodies,
  integrationTimeoutMs: INTEGRATION_TIMEOUT_SECONDS * 1000,
});

/** The WebSocket API's authorizer and routes, and its error bodies. */
export const webSocketApi = (): Pick<WebSocketGatewayOptions, 'api' | 'bodies'> => ({
  api: websocketApi,
  bodies: errorBodies,
});

/** The ASL with `${Name}` placeholders replaced as CDK's `definitionSubstitutions` would. */
export const substitute = (spec: StateMachineSpec): Record<string, unknown> => {
  const text = readFileSync(join(repoRoot, spec.definitionFile), 'utf8');
  const values = Object.fromEntries(
    Object.entries(spec.substitutions).map(([placeholder, target]) => [
      placeholder,
      'table' in target
        ? tables[target.table].name
        : 'bus' in target
          ? buses[target.bus].name
          : 'queue' in target
            ? localArns.queueUrl(target.queue)
            : localArns.function(target.function),
    ]),
  );
  return JSON.parse(
    text.replace(/\$\{(\w+)\}/g, (whole, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`${spec.definitionFile}: no substitution for ${whole}`);
      return value;
    }),
  ) as Record<string, unknown>;
};

/** Every state machine of the topology, its definition substituted. */
export const localStateMachines = (): LocalStateMachine[] =>
  Object.values(stateMachines).map((spec) => ({
    name: spec.name,
    type: spec.type,
    definition: substitute(spec),
  }));
