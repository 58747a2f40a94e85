/**
 * `npm run cost -- --devices N --interval SECONDS --batch K [--region us-east-1]
 *   [--alerts-per-device-per-day A] [--dashboards D] [--json]`
 *
 * Prints the monthly AWS cost of sensorbus for a fleet, by service and line item, next to the
 * same fleet on AWS IoT Core + rules. Further options: --devices-per-dashboard F, --months M
 * (months of stored data), --metrics-per-reading M, --email-subscribers E, --notes (how each
 * quantity is counted).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CDK_LAMBDA_MEMORY_MB, defaultAssumptions } from './defaults.ts';
import { renderJson, renderText } from './format.ts';
import { type CostInputs, estimate } from './model.ts';
import { PRICE_REGION, PRICES } from './prices.ts';

const ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `Usage: npm run cost -- --devices N --interval SECONDS [--batch K] [--region ${PRICE_REGION}]
    [--alerts-per-device-per-day A] [--dashboards D] [--devices-per-dashboard F] [--months M]
    [--metrics-per-reading M] [--email-subscribers E] [--notes] [--json]`;

/** The memory every function gets, read from the CDK construct when it is there. */
const lambdaMemory = (): { mb: number; source: string } => {
  const file = join(ROOT, 'infra/aws/sensorbus-function.ts');
  if (existsSync(file)) {
    const match = /memorySize:\s*(\d+)/.exec(readFileSync(file, 'utf8'));
    if (match?.[1]) return { mb: Number(match[1]), source: 'memorySize in infra/aws/sensorbus-function.ts' };
  }
  return { mb: CDK_LAMBDA_MEMORY_MB, source: 'assumed: no memorySize found in infra/aws/' };
};

const definitionBytes = (): number | undefined => {
  const file = join(ROOT, 'statemachines/enrich-reading.asl.json');
  return existsSync(file) ? statSync(file).size : undefined;
};

const number = (value: string | undefined, name: string, fallback?: number): number => {
  if (value === undefined) {
    if (fallback === undefined) throw new RangeError(`--${name} is required`);
    return fallback;
  }
  const parsed = Number(value.replaceAll('_', ''));
  if (!Number.isFinite(parsed)) throw new RangeError(`--${name} must be a number, got "${value}"`);
  return parsed;
};

export const main = (argv: string[]): number => {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' },
        interval: { type: 'string' },
        batch: { type: 'string' },
        region: { type: 'string' },
        'alerts-per-device-per-day': { type: 'string' },
        dashboards: { type: 'string' },
        'devices-per-dashboard': { type: 'string' },
        months: { type: 'string' },
        'metrics-per-reading': { type: 'string' },
        'email-subscribers': { type: 'string' },
        notes: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const region = typeof values.region === 'string' ? values.region : PRICE_REGION;
    if (region !== PRICE_REGION)
      throw new RangeError(
        `The price table has ${PRICE_REGION} prices only (tools/cost/prices.ts); got --region ${region}`,
      );
    const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
    const perDashboard = str('devices-per-dashboard');
    const inputs: CostInputs = {
      devices: number(str('devices'), 'devices'),
      intervalSeconds: number(str('interval'), 'interval'),
      batch: number(str('batch'), 'batch', 1),
      alertsPerDevicePerDay: number(str('alerts-per-device-per-day'), 'alerts-per-device-per-day', 1),
      dashboards: number(str('dashboards'), 'dashboards', 1),
      ...(perDashboard !== undefined
        ? { devicesPerDashboard: number(perDashboard, 'devices-per-dashboard') }
        : {}),
      months: number(str('months'), 'months', 12),
      emailSubscribers: number(str('email-subscribers'), 'email-subscribers', 1),
    };
    const metrics = number(str('metrics-per-reading'), 'metrics-per-reading', 3);
    if (!Number.isInteger(metrics) || metrics < 1 || metrics > 50)
      throw new RangeError('--metrics-per-reading must be an integer from 1 to 50');
    const memory = lambdaMemory();
    const bytes = definitionBytes();
    const assumptions = defaultAssumptions({
      metricsPerReading: metrics,
      intervalSeconds: inputs.intervalSeconds,
      lambdaMemoryMb: memory.mb,
      lambdaMemorySource: memory.source,
      ...(bytes !== undefined ? { sfnDefinitionBytes: bytes } : {}),
    });
    const report = estimate(inputs, assumptions, PRICES);
    console.log(values.json ? renderJson(report) : renderText(report, { notes: values.notes === true }));
    return 0;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
};

process.exitCode = main(process.argv.slice(2));
