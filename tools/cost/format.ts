/** Renders a cost report as text tables, or as one JSON object. */
import { type CostReport, type Estimate, type LineItem, SERVICE_ORDER } from './model.ts';
import {
  PRICE_REGION,
  PRICES,
  PRICES_READ_ON,
  type Price,
  type PriceTable,
  unverifiedPrices,
} from './prices.ts';

const usd = (value: number): string => {
  if (value === 0) return '$0.00';
  if (Math.abs(value) < 0.01) return value > 0 ? '<$0.01' : '>-$0.01';
  return `${value < 0 ? '-' : ''}$${Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
};

const quantity = (value: number): string => {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1) return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return value.toPrecision(3);
};

/** A price with the digits it needs: `$0.80`, `$0.0000133334`. */
const dollars = (value: number): string => {
  const digits = value !== 0 && Math.abs(value) < 0.01 ? 10 : 4;
  return `$${value.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
};

const unitPrice = (line: LineItem): string => `${dollars(line.unitPrice)} / ${line.perLabel}`;

/** A list price as a user reads it: `$0.03 per 10K requests`, lower tiers after the first. */
const listPrice = (price: Price): string => {
  const [first, ...lower] = price.tiers.map((tier) => dollars(tier.price));
  const volume = lower.length > 0 ? `, then ${lower.join(' and ')} at higher volumes` : '';
  return `${first} per ${price.perLabel}${volume}`;
};

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + ' '.repeat(width - text.length);
const padStart = (text: string, width: number): string =>
  text.length >= width ? text : ' '.repeat(width - text.length) + text;

const WIDTH = { item: 56, quantity: 15, unit: 14, price: 27, cost: 12 };

const row = (item: string, qty: string, unit: string, price: string, cost: string): string =>
  `${pad(item, WIDTH.item)}${padStart(qty, WIDTH.quantity)}  ${pad(unit, WIDTH.unit)}${pad(price, WIDTH.price)}${padStart(cost, WIDTH.cost)}`.trimEnd();

const table = (estimate: Estimate, notes: boolean): string[] => {
  const out: string[] = [
    estimate.title,
    row('Service / line item', 'Quantity', 'Unit', 'Unit price', 'Monthly'),
  ];
  out.push('-'.repeat(WIDTH.item + WIDTH.quantity + 2 + WIDTH.unit + WIDTH.price + WIDTH.cost));
  for (const service of estimate.services) {
    out.push(row(service.service, '', '', '', usd(service.cost)));
    for (const line of service.lines) {
      out.push(row(`  ${line.item}`, quantity(line.quantity), line.unit, unitPrice(line), usd(line.cost)));
      if (notes && line.note) out.push(`      ${line.note}`);
    }
  }
  out.push('-'.repeat(WIDTH.item + WIDTH.quantity + 2 + WIDTH.unit + WIDTH.price + WIDTH.cost));
  out.push(row('Total per month', '', '', '', usd(estimate.total)));
  out.push(
    `Per device: ${usd(estimate.perDevice)} a month · per million readings: ${usd(estimate.perMillionReadings)}`,
  );
  return out;
};

const freeTierLines = (estimate: Estimate): string[] => {
  const always = estimate.freeTier.filter((f) => f.always);
  const firstYear = estimate.freeTier.filter((f) => !f.always);
  const total = (list: typeof always) => list.reduce((sum, f) => sum + f.saving, 0);
  const describe = (list: typeof always) => list.map((f) => `${f.description} (${usd(f.saving)})`).join('; ');
  const lines = [
    `  ${estimate.design === 'rest' ? 'sensorbus' : 'IoT Core'}: always-free allowances would take off ${usd(total(always))}${always.length ? ` (${describe(always)})` : ''}.`,
  ];
  if (firstYear.length)
    lines.push(
      `    A new account's first 12 months would also take off ${usd(total(firstYear))} (${describe(firstYear)}).`,
    );
  return lines;
};

/** The upload sizes the estimate used: one for every device with --batch, else the streamed and the buffered. */
const uploads = (inputs: CostReport['inputs']): string =>
  inputs.batch !== undefined
    ? `${inputs.batch} reading(s) per request (--batch)`
    : `uploads of ${inputs.watchedUploadReadings} reading (watched, streaming) and of ${quantity(inputs.unwatchedUploadReadings)} readings (unwatched, bufferSeconds ${quantity(inputs.bufferSeconds)})`;

export const renderText = (
  report: CostReport,
  options: { notes?: boolean; prices?: PriceTable } = {},
): string => {
  const { inputs, rest, iot } = report;
  const notes = options.notes ?? false;
  const v = rest.volumes;
  const out: string[] = [];
  out.push(
    `sensorbus monthly cost estimate — ${PRICE_REGION} list prices read ${PRICES_READ_ON}, without free tier`,
  );
  out.push(
    `Fleet: ${quantity(inputs.devices)} devices, a reading every ${quantity(inputs.intervalSeconds)} s, ${uploads(inputs)} (${(inputs.frontDoor ?? 'http') === 'http' ? 'HTTP API' : 'REST API + device-key authorizer'}), ` +
      `${quantity(inputs.alertsPerDevicePerDay)} alert(s)/device/day, ${quantity(inputs.dashboards)} dashboard(s) following ${quantity(inputs.devicesPerDashboard ?? inputs.devices)} device(s) each (${quantity(inputs.watchedFraction * 100)}% watched), readings kept ${quantity(inputs.retentionDays)} days`,
  );
  out.push(
    `  → ${quantity(v.readingsPerMonth)} readings/month, ${quantity(v.requestsPerMonth)} requests/month, ` +
      (v.authorizerInvocations > 0
        ? `${quantity(v.authorizerInvocations)} authorizer runs (${quantity(v.authorizerCacheHitRate * 100)}% cache hits), `
        : '') +
      `${quantity(v.enrichmentExecutions)} enrichments, ${quantity(v.customEvents)} custom events, ${quantity(v.ruleDeliveries)} rule deliveries`,
  );
  out.push('');
  out.push(...table(rest, notes));
  out.push('');
  out.push('Managed alternative for comparison:');
  out.push(...table(iot, notes));
  out.push('');
  const diff = iot.total - rest.total;
  out.push('Comparison by service');
  out.push(
    `${pad('Service', 26)}${padStart('sensorbus', 14)}${padStart('IoT Core', 14)}${padStart('difference', 14)}`,
  );
  const rank = (service: string) =>
    SERVICE_ORDER.includes(service) ? SERVICE_ORDER.indexOf(service) : SERVICE_ORDER.length;
  const services = [...new Set([...rest.services, ...iot.services].map((s) => s.service))].sort(
    (x, y) => rank(x) - rank(y),
  );
  const costOf = (e: Estimate, service: string) => e.services.find((s) => s.service === service)?.cost ?? 0;
  for (const service of services) {
    const a = costOf(rest, service);
    const b = costOf(iot, service);
    out.push(`${pad(service, 26)}${padStart(usd(a), 14)}${padStart(usd(b), 14)}${padStart(usd(b - a), 14)}`);
  }
  out.push(
    `${pad('Total', 26)}${padStart(usd(rest.total), 14)}${padStart(usd(iot.total), 14)}${padStart(usd(diff), 14)}`,
  );
  out.push(
    `IoT Core + rules is ${usd(Math.abs(diff))} a month (${quantity(Math.abs(diff / (rest.total || 1)) * 100)}%) ${diff < 0 ? 'cheaper' : 'dearer'} than sensorbus for this fleet.`,
  );
  out.push('');
  out.push('sensorbus by service, largest first:');
  for (const service of [...rest.services].sort((x, y) => y.cost - x.cost))
    out.push(
      `  ${padStart(usd(service.cost), 14)} ${pad(service.service, 24)}${padStart(quantity((service.cost / (rest.total || 1)) * 100), 6)}%`,
    );
  out.push('');
  if (report.shares) {
    const { watched, unwatched } = report.shares;
    out.push('sensorbus by kind of device, each priced as a fleet of its own:');
    for (const [name, share] of [
      ['watched (streaming, with the dashboards)', watched],
      ['unwatched (buffering)', unwatched],
    ] as const)
      out.push(
        `  ${padStart(usd(share.total), 14)} ${pad(name, 42)}${padStart(quantity(share.devices), 12)} devices, $${share.perDevice.toFixed(4)} a device-month`,
      );
    out.push(
      `  (apart they come to ${usd(watched.total + unwatched.total)} against ${usd(rest.total)} together: tiered prices and what a fleet pays once)`,
    );
    out.push('');
  }
  if (rest.unitsPerReading) {
    const m = rest.unitsPerReading;
    out.push(
      `Units per reading, measured at ${m.commit} (batch ${m.batch}, ${quantity(m.watchedFraction * 100)}% of devices watched):`,
    );
    for (const [unit, n] of Object.entries(m.units))
      out.push(`  ${pad(unit, 48)}${padStart(quantity(n), 10)}`);
    out.push('');
  }
  out.push('AWS quotas for this fleet (average load; default quota, us-east-1):');
  for (const q of report.quotas)
    out.push(
      `  ${q.exceeded ? '✗' : '✓'} ${pad(q.name, 100)}${padStart(quantity(q.load), 12)} / ${quantity(q.limit)} ${q.unit}`,
    );
  out.push(
    report.increases.length > 0
      ? 'Quota increases to request before deploying this fleet:'
      : 'No quota increase needed for this fleet.',
  );
  for (const increase of report.increases) out.push(`  - ${increase}`);
  out.push('');
  out.push('Free tier (not applied above):');
  out.push(...freeTierLines(rest), ...freeTierLines(iot));
  out.push('');
  out.push('Key assumptions:');
  for (const assumption of report.assumptions) out.push(`  - ${assumption}`);
  out.push('');
  const unverified = unverifiedPrices(options.prices ?? PRICES);
  if (unverified.length > 0) {
    out.push(
      `Prices recalled, not checked against AWS's price pages: the ${unverified.length} below. Every other price was checked ` +
        `against a copy of its page read on ${PRICES_READ_ON}. Each page is named in tools/cost/prices.ts; check these there before relying on them.`,
    );
    for (const p of unverified)
      out.push(`  - ${p.service}: ${p.description}: ${listPrice(p)}. ${p.note ?? 'Recalled, not checked.'}`);
  }
  return out.join('\n');
};

export const renderJson = (report: CostReport, prices: PriceTable = PRICES): string =>
  JSON.stringify(
    {
      region: PRICE_REGION,
      pricesReadOn: PRICES_READ_ON,
      // `batch` stays in the shape: null when no --batch set every device's upload.
      inputs: { ...report.inputs, batch: report.inputs.batch ?? null },
      sensorbus: report.rest,
      iotCore: report.iot,
      // Null when every device is of one kind, or --batch makes them post alike.
      shares: report.shares ?? null,
      quotas: report.quotas,
      quotaIncreases: report.increases,
      comparison: {
        sensorbus: report.rest.total,
        iotCore: report.iot.total,
        iotMinusSensorbus: report.iot.total - report.rest.total,
      },
      assumptions: report.assumptions,
      prices: Object.values(prices),
      unverifiedPrices: unverifiedPrices(prices).map((p) => p.id),
    },
    null,
    2,
  );
