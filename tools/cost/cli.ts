/**
 * `npm run cost -- --devices N --interval SECONDS [--batch K] [--buffer-seconds B] [--front-door rest|http] [--json]`
 *
 * Prints the monthly AWS cost of sensorbus for a fleet, by service and line item, next to the
 * same fleet on AWS IoT Core + rules, and the AWS quotas the fleet loads. sensorbus is priced from
 * the units measured by `npm run cost:measure` (`tools/cost/measured-units.json`). Further
 * options: --batch K (every device posts K readings per request, instead of watched devices one and
 * the others what `bufferSeconds` B lets them hold), --buffer-seconds B, --dashboards D and --devices-per-dashboard F (who watches), --alerts-per-device-per-day
 * A, --email-subscribers E, --retention-days R (readings' TTL), --months M (alert history and
 * archive kept), --metrics-per-reading M, --notes (how each quantity is counted), --front-door
 * rest (the devices' requests priced on a REST API behind a device-key authorizer, the earlier
 * design, instead of the deployed HTTP API).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FUNCTION_MEMORY_MB } from '../../infra/api.ts';
import { measureDashboard } from './dashboard-size.ts';
import {
  DEFAULT_ALERTS_PER_DEVICE_PER_DAY,
  DEFAULT_DASHBOARDS,
  DEFAULT_DEVICES_PER_DASHBOARD,
  defaultAssumptions,
} from './defaults.ts';
import { renderJson, renderText } from './format.ts';
import { loadMeasuredUnits, MEASURED_UNITS_FILE } from './measured.ts';
import { type CostInputs, estimate } from './model.ts';
import { PRICE_REGION, PRICES } from './prices.ts';

const ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `Usage: npm run cost -- --devices N --interval SECONDS [--batch K] [--buffer-seconds B] [--front-door rest|http]
    [--region ${PRICE_REGION}] [--alerts-per-device-per-day A] [--dashboards D] [--devices-per-dashboard F]
    [--retention-days R] [--months M] [--metrics-per-reading M] [--email-subscribers E] [--notes] [--json]`;

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
        'buffer-seconds': { type: 'string' },
        'front-door': { type: 'string' },
        'retention-days': { type: 'string' },
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
    const frontDoor = str('front-door') ?? 'http';
    if (frontDoor !== 'rest' && frontDoor !== 'http')
      throw new RangeError(`--front-door must be rest or http, got "${frontDoor}"`);
    const inputs: CostInputs = {
      devices: number(str('devices'), 'devices'),
      intervalSeconds: number(str('interval'), 'interval'),
      ...(str('batch') !== undefined ? { batch: number(str('batch'), 'batch') } : {}),
      ...(str('buffer-seconds') !== undefined
        ? { bufferSeconds: number(str('buffer-seconds'), 'buffer-seconds') }
        : {}),
      alertsPerDevicePerDay: number(
        str('alerts-per-device-per-day'),
        'alerts-per-device-per-day',
        DEFAULT_ALERTS_PER_DEVICE_PER_DAY,
      ),
      dashboards: number(str('dashboards'), 'dashboards', DEFAULT_DASHBOARDS),
      devicesPerDashboard: number(
        str('devices-per-dashboard'),
        'devices-per-dashboard',
        DEFAULT_DEVICES_PER_DASHBOARD,
      ),
      months: number(str('months'), 'months', 12),
      retentionDays: number(str('retention-days'), 'retention-days', 30),
      frontDoor,
      emailSubscribers: number(str('email-subscribers'), 'email-subscribers', 1),
    };
    const metrics = number(str('metrics-per-reading'), 'metrics-per-reading', 3);
    if (!Number.isInteger(metrics) || metrics < 1 || metrics > 50)
      throw new RangeError('--metrics-per-reading must be an integer from 1 to 50');
    const bytes = definitionBytes();
    const dashboardBundle = measureDashboard();
    const assumptions = defaultAssumptions({
      metricsPerReading: metrics,
      intervalSeconds: inputs.intervalSeconds,
      lambdaMemoryMb: FUNCTION_MEMORY_MB,
      lambdaMemorySource: 'FUNCTION_MEMORY_MB of infra/api.ts, which the CDK stack deploys',
      ...(bytes !== undefined ? { sfnDefinitionBytes: bytes } : {}),
      ...(existsSync(MEASURED_UNITS_FILE) ? { measured: loadMeasuredUnits() } : {}),
      ...(dashboardBundle ? { dashboardBundle } : {}),
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
