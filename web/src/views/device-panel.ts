/** A device's section of the main area: its header (status, alarms) and one chart per metric. */
import type { Device } from '../../../schemas/device.ts';
import { h, setAttr, setText } from '../dom.ts';
import type { AggregateSeries, BucketKey } from '../logic/aggregates.ts';
import { type AlarmBand, bandsForMetric } from '../logic/alarm-bands.ts';
import { thresholdsOf } from '../logic/chart-scale.ts';
import type { MetricSeries } from '../logic/device-series.ts';
import { ALARM_STATE_LABELS, alarmRule, formatRelative, STATUS_LABELS } from '../logic/format.ts';
import { locationText } from '../logic/messages.ts';
import type { DeviceStatus } from '../logic/status.ts';
import { MetricChart } from './metric-chart.ts';

export const displayName = (device: Device): string => device.name ?? device.deviceId;

/** The metrics to chart: the registered ones first, in their order, then any others readings carry. */
export const metricsOf = (device: Device, series: MetricSeries | AggregateSeries): string[] => [
  ...new Set([...Object.keys(device.metrics), ...Object.keys(series)]),
];

/** Long ranges: each metric's buckets, drawn instead of its readings. */
export interface Aggregated {
  readonly bucket: BucketKey;
  readonly series: AggregateSeries;
}

export class DevicePanel {
  readonly element: HTMLElement;
  readonly #charts = new Map<string, MetricChart>();
  readonly #chartGrid: HTMLElement;
  readonly #status: HTMLElement;
  readonly #seen: HTMLElement;
  readonly #alarms: HTMLElement;
  readonly #title: HTMLElement;
  readonly #location: HTMLElement;
  readonly #error: HTMLElement;
  readonly #enrichment: HTMLElement;
  #device: Device;

  constructor(device: Device) {
    this.#device = device;
    const titleId = `device-${device.deviceId}-title`;
    this.#title = h('h2', { id: titleId }, displayName(device));
    this.#location = h('span', { class: 'device-location' });
    this.#status = h('span', { class: 'status-pill' });
    this.#seen = h('span', { class: 'device-seen' });
    this.#alarms = h('ul', { class: 'alarm-chips', 'aria-label': 'Alarms' });
    this.#error = h('p', { class: 'panel-error', role: 'alert', hidden: true });
    this.#enrichment = h('p', { class: 'enrichment-notice', role: 'status', hidden: true });
    this.#chartGrid = h('div', { class: 'chart-grid' });
    this.element = h(
      'section',
      { class: 'device-panel', 'data-device-id': device.deviceId, 'aria-labelledby': titleId },
      h(
        'header',
        { class: 'device-panel-header' },
        h('div', { class: 'device-heading' }, this.#title, this.#location),
        h('div', { class: 'device-meta' }, this.#status, this.#seen),
        this.#alarms,
      ),
      this.#error,
      this.#enrichment,
      this.#chartGrid,
    );
    this.setDevice(device);
  }

  setDevice(device: Device): void {
    this.#device = device;
    setText(this.#title, displayName(device));
    const location = locationText(device.location);
    setText(this.#location, location ?? device.deviceId);
    this.#alarms.replaceChildren(
      ...device.alarmStates.map((alarm) =>
        h(
          'li',
          {
            class: 'alarm-chip',
            'data-alarm-state': alarm.state,
            'data-severity': alarm.severity,
            'data-metric': alarm.metric,
          },
          h('span', { class: 'alarm-rule' }, alarmRule(alarm, device.metrics[alarm.metric]?.unit)),
          h('span', { class: 'alarm-state' }, ALARM_STATE_LABELS[alarm.state]),
        ),
      ),
    );
    this.#alarms.hidden = device.alarmStates.length === 0;
  }

  setStatus(status: DeviceStatus, lastSeenMs: number | undefined, nowMs: number): void {
    setAttr(this.element, 'data-status', status);
    setAttr(this.#status, 'data-status', status);
    setText(this.#status, STATUS_LABELS[status]);
    setText(this.#seen, lastSeenMs === undefined ? '' : `last reading ${formatRelative(lastSeenMs, nowMs)}`);
  }

  setError(message: string | undefined): void {
    this.#error.hidden = message === undefined;
    setText(this.#error, message ?? '');
  }

  /** Says how many shown readings could not be enriched (see `failureNotice`); hidden when none. */
  setEnrichmentNotice(message: string | undefined): void {
    this.#enrichment.hidden = message === undefined;
    setText(this.#enrichment, message ?? '');
  }

  setLoading(loading: boolean): void {
    for (const chart of this.#charts.values()) chart.setLoading(loading);
  }

  /**
   * Draws the series (or, given `aggregated`, its buckets) and the device's alarm bands (each chart
   * its own threshold alerts and every silence), creating a chart for any metric seen for the
   * first time.
   */
  update(
    series: MetricSeries,
    window: [number, number],
    bands: readonly AlarmBand[] = [],
    aggregated?: Aggregated,
  ): void {
    for (const metric of metricsOf(this.#device, aggregated?.series ?? series)) {
      const chart = this.#charts.get(metric) ?? this.#addChart(metric);
      chart.update(
        aggregated
          ? { kind: 'aggregate', bucket: aggregated.bucket, points: aggregated.series[metric] ?? [] }
          : { kind: 'raw', points: series[metric] ?? [] },
        window,
        thresholdsOf(this.#device.alarms, metric),
        bandsForMetric(bands, metric),
      );
    }
    setAttr(this.#chartGrid, 'data-charts', this.#charts.size);
  }

  /** Creates empty charts for the registered metrics, shown while history loads. */
  prepare(): void {
    for (const metric of Object.keys(this.#device.metrics)) {
      if (!this.#charts.has(metric)) this.#addChart(metric);
    }
  }

  /** A new, empty chart of one metric, added to the grid after the others. */
  #addChart(metric: string): MetricChart {
    const chart = new MetricChart({
      deviceId: this.#device.deviceId,
      deviceName: displayName(this.#device),
      metric,
      unit: this.#device.metrics[metric]?.unit,
    });
    this.#charts.set(metric, chart);
    this.#chartGrid.append(chart.element);
    return chart;
  }

  slide(window: [number, number]): void {
    for (const chart of this.#charts.values()) chart.slide(window);
  }

  destroy(): void {
    for (const chart of this.#charts.values()) chart.destroy();
    this.element.remove();
  }
}
