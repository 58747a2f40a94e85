/**
 * One live uPlot chart of one metric of one device: each reading, or on long ranges each bucket's
 * average with its min–max band. The figure carries its state for people (caption, tooltip) and
 * for tests (`data-mode` raw or aggregate, `data-bucket`, `data-points`, `data-anomalies`,
 * `data-last-timestamp`, `data-bands` and `data-open-bands`: the alarm periods shaded in the
 * visible window).
 */
import uPlot from 'uplot';
import { h, setAttr, setText } from '../dom.ts';
import { type ChartData, chartColumns } from '../logic/aggregates.ts';
import { type AlarmBand, type PlacedBand, placeBands } from '../logic/alarm-bands.ts';
import { type Threshold, timeTickLabels, yRange } from '../logic/chart-scale.ts';
import { formatClock, formatValue, metricLabel } from '../logic/format.ts';
import { anomalies } from '../logic/series.ts';

const formatDate = (ms: number): string =>
  new Date(ms).toLocaleDateString('en', { month: 'short', day: 'numeric' });

const COLORS = {
  line: '#3b6ea8',
  fill: 'rgba(59, 110, 168, 0.08)',
  range: 'rgba(59, 110, 168, 0.18)',
  rangeEdge: 'rgba(59, 110, 168, 0.35)',
  axis: '#6b7785',
  grid: '#edf0f3',
  anomaly: '#c93a3a',
  warning: '#c98a1b',
  critical: '#c93a3a',
};

/** Alarm periods: a light wash over the plot and a stronger strip along its top, by kind and severity. */
const BAND_COLORS = {
  warning: { fill: 'rgba(201, 138, 27, 0.10)', strip: 'rgba(201, 138, 27, 0.75)' },
  critical: { fill: 'rgba(201, 58, 58, 0.10)', strip: 'rgba(201, 58, 58, 0.75)' },
  silence: { fill: 'rgba(107, 119, 133, 0.13)', strip: 'rgba(107, 119, 133, 0.7)' },
};

const bandColor = (band: PlacedBand) =>
  band.kind === 'silence' ? BAND_COLORS.silence : BAND_COLORS[band.severity];

/** Tick steps of the time axis, in seconds: readable clock times from seconds to weeks. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800,
  604_800,
];

export interface MetricChartOptions {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly metric: string;
  readonly unit: string | undefined;
}

export class MetricChart {
  readonly element: HTMLElement;
  readonly #options: MetricChartOptions;
  readonly #plotHost: HTMLElement;
  readonly #value: HTMLElement;
  readonly #stats: HTMLElement;
  readonly #anomalyBadge: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #tooltip: HTMLElement;
  readonly #resize: ResizeObserver;
  #plot: uPlot | undefined;
  #data: ChartData = { kind: 'raw', points: [] };
  #thresholds: readonly Threshold[] = [];
  #bands: readonly AlarmBand[] = [];
  #window: [number, number] = [0, 1];
  #loading = true;

  constructor(options: MetricChartOptions) {
    this.#options = options;
    const label = metricLabel(options.metric, options.unit);
    this.#value = h('span', { class: 'metric-value' }, '–');
    this.#stats = h('span', { class: 'metric-stats' });
    this.#anomalyBadge = h('span', { class: 'anomaly-badge', hidden: true });
    this.#empty = h('div', { class: 'chart-empty' }, 'Loading history…');
    this.#tooltip = h('div', { class: 'chart-tooltip', role: 'tooltip', hidden: true });
    this.#plotHost = h('div', { class: 'chart-plot' });
    this.element = h(
      'figure',
      {
        class: 'metric-chart',
        'data-device-id': options.deviceId,
        'data-metric': options.metric,
        'data-points': 0,
        'data-anomalies': 0,
        'data-bands': 0,
        'data-open-bands': 0,
        'aria-label': `${label} of ${options.deviceName}`,
      },
      h(
        'figcaption',
        {},
        h('span', { class: 'metric-title' }, h('span', { class: 'metric-name' }, label), this.#value),
        h('span', { class: 'metric-side' }, this.#anomalyBadge, this.#stats),
      ),
      h('div', { class: 'chart-body' }, this.#plotHost, this.#empty),
    );
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(this.#plotHost);
  }

  /** Replaces the drawn data (already sorted and deduplicated), the visible time window and the alarm bands. */
  update(
    data: ChartData,
    window: [number, number],
    thresholds: readonly Threshold[],
    bands: readonly AlarmBand[] = [],
  ): void {
    this.#data = data;
    this.#window = window;
    this.#thresholds = thresholds;
    this.#bands = bands;
    this.#loading = false;
    this.#render();
  }

  /** Moves the time window (the clock ticks) without new data. */
  slide(window: [number, number]): void {
    this.#window = window;
    this.#plot?.setScale('x', { min: window[0] / 1000, max: window[1] / 1000 });
    this.#renderBandState();
    this.#renderEmptyState();
  }

  setLoading(loading: boolean, message = 'Loading history…'): void {
    this.#loading = loading;
    if (loading) setText(this.#empty, message);
    this.#renderEmptyState();
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = undefined;
    this.element.remove();
  }

  #render(): void {
    const data = this.#data;
    const unit = this.#options.unit;
    const marked = data.kind === 'raw' ? anomalies(data.points) : [];
    setAttr(this.element, 'data-mode', data.kind);
    setAttr(this.element, 'data-bucket', data.kind === 'aggregate' ? data.bucket : undefined);
    setAttr(this.element, 'data-points', data.points.length);
    setAttr(this.element, 'data-anomalies', marked.length);
    const stats: string[] = [];
    let statsTitle: string | undefined;
    if (data.kind === 'raw') {
      const last = data.points.at(-1);
      setAttr(this.element, 'data-last-timestamp', last ? new Date(last.t).toISOString() : undefined);
      setText(this.#value, formatValue(last?.value, unit));
      const enrichment = last?.enrichment;
      if (enrichment?.mean !== undefined) stats.push(`mean ${formatValue(enrichment.mean, unit)}`);
      if (enrichment?.zScore !== undefined && enrichment.zScore !== null)
        stats.push(`z-score ${enrichment.zScore.toFixed(2)}`);
      if (stats.length > 0) statsTitle = 'Rolling mean and z-score of the latest reading';
    } else {
      const last = data.points.at(-1);
      setAttr(this.element, 'data-last-timestamp', undefined);
      setText(this.#value, formatValue(last?.last, unit));
      stats.push(`average per ${data.bucket}, min–max band`);
      statsTitle = `Each point is the average of a ${data.bucket} bucket; the shaded band spans its lowest to highest reading`;
    }
    setText(this.#stats, stats.join(' · '));
    setAttr(this.#stats, 'title', statsTitle);
    this.#anomalyBadge.hidden = marked.length === 0;
    setText(this.#anomalyBadge, `${marked.length} ${marked.length === 1 ? 'anomaly' : 'anomalies'}`);

    const plot = this.#ensurePlot();
    if (plot) {
      plot.setData(chartColumns(data), false);
      plot.setScale('x', { min: this.#window[0] / 1000, max: this.#window[1] / 1000 });
    }
    this.#renderBandState();
    this.#renderEmptyState();
  }

  #renderBandState(): void {
    const placed = placeBands(this.#bands, this.#window);
    setAttr(this.element, 'data-bands', placed.length);
    setAttr(this.element, 'data-open-bands', placed.filter((band) => band.open).length);
  }

  #renderEmptyState(): void {
    const [from] = this.#window;
    const visible = this.#data.points.some((p) => p.t >= from);
    if (this.#loading) {
      this.#empty.hidden = false;
      return;
    }
    setText(this.#empty, 'No readings in this time range');
    this.#empty.hidden = visible;
  }

  #ensurePlot(): uPlot | undefined {
    if (this.#plot) return this.#plot;
    const { width, height } = this.#plotHost.getBoundingClientRect();
    if (width < 10 || height < 10) return undefined;
    const unit = this.#options.unit;
    const opts: uPlot.Options = {
      width: Math.floor(width),
      height: Math.floor(height),
      legend: { show: false },
      padding: [8, 22, 0, 0],
      cursor: { y: false, points: { size: 7 }, drag: { x: false, y: false } },
      scales: {
        x: { time: true, auto: false },
        y: { range: (_u, min, max) => yRange(min, max, this.#thresholds) },
      },
      axes: [
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid, width: 1 },
          ticks: { stroke: COLORS.grid, width: 1 },
          font: '11px system-ui, sans-serif',
          size: 28,
          space: 50,
          incrs: TIME_STEPS,
          values: (_u, splits) => timeTickLabels(splits, (this.#window[1] - this.#window[0]) / 1000),
        },
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid, width: 1 },
          ticks: { show: false },
          size: 48,
          font: '11px system-ui, sans-serif',
          values: (_u, splits) => splits.map((v) => formatValue(v)),
        },
      ],
      series: [
        {},
        {
          label: metricLabel(this.#options.metric, unit),
          stroke: COLORS.line,
          width: 1.75,
          fill: COLORS.fill,
          points: { size: 4, fill: COLORS.line },
          value: (_u, v) => formatValue(v, unit),
        },
        {
          label: 'Anomaly',
          stroke: COLORS.anomaly,
          paths: () => null,
          points: { show: true, size: 8, width: 1.5, stroke: '#ffffff', fill: COLORS.anomaly },
        },
        { label: 'Max', stroke: COLORS.rangeEdge, width: 1, points: { show: false } },
        { label: 'Min', stroke: COLORS.rangeEdge, width: 1, points: { show: false } },
      ],
      bands: [{ series: [3, 4], fill: COLORS.range }],
      hooks: {
        drawAxes: [(u) => this.#drawBands(u), (u) => this.#drawThresholds(u)],
        setCursor: [(u) => this.#showTooltip(u)],
      },
    };
    this.#plot = new uPlot(opts, chartColumns(this.#data), this.#plotHost);
    this.#plot.over.append(this.#tooltip);
    this.#plot.over.addEventListener('mouseleave', () => {
      this.#tooltip.hidden = true;
    });
    return this.#plot;
  }

  #fit(): void {
    const { width, height } = this.#plotHost.getBoundingClientRect();
    if (width < 10 || height < 10) return;
    if (!this.#plot) {
      if (!this.#loading) this.#render();
      return;
    }
    if (Math.abs(this.#plot.width - width) >= 1 || Math.abs(this.#plot.height - height) >= 1) {
      this.#plot.setSize({ width: Math.floor(width), height: Math.floor(height) });
    }
  }

  /** Shades each alarm period behind the line, so a person sees when the device was in alarm. */
  #drawBands(u: uPlot): void {
    const { ctx, bbox } = u;
    const ratio = window.devicePixelRatio || 1;
    const right = bbox.left + bbox.width;
    ctx.save();
    for (const band of placeBands(this.#bands, this.#window)) {
      const x0 = Math.max(bbox.left, u.valToPos(band.from / 1000, 'x', true));
      const x1 = Math.min(right, u.valToPos(band.to / 1000, 'x', true));
      if (x1 < bbox.left || x0 > right) continue;
      // A period shorter than a pixel still shows, two pixels wide.
      const width = Math.max(x1 - x0, 2 * ratio);
      const color = bandColor(band);
      ctx.fillStyle = color.fill;
      ctx.fillRect(x0, bbox.top, width, bbox.height);
      ctx.fillStyle = color.strip;
      ctx.fillRect(x0, bbox.top, width, 3 * ratio);
    }
    ctx.restore();
  }

  #drawThresholds(u: uPlot): void {
    const { ctx, bbox } = u;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.setLineDash([5 * ratio, 4 * ratio]);
    ctx.lineWidth = ratio;
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    for (const threshold of this.#thresholds) {
      const y = Math.round(u.valToPos(threshold.value, 'y', true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      const color = COLORS[threshold.severity];
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      const label = `${threshold.kind === 'above' ? 'alarm above' : 'alarm below'} ${formatValue(threshold.value)}`;
      const padX = 4 * ratio;
      const textWidth = ctx.measureText(label).width;
      const boxHeight = 15 * ratio;
      const boxTop = threshold.kind === 'above' ? y - boxHeight - ratio : y + ratio;
      const boxLeft = bbox.left + 6 * ratio;
      ctx.setLineDash([]);
      ctx.fillStyle = 'rgba(255, 255, 255, 0.88)';
      ctx.fillRect(boxLeft, boxTop, textWidth + 2 * padX, boxHeight);
      ctx.fillStyle = color;
      ctx.fillText(label, boxLeft + padX, boxTop + boxHeight - 4 * ratio);
      ctx.setLineDash([5 * ratio, 4 * ratio]);
    }
    ctx.restore();
  }

  #showTooltip(u: uPlot): void {
    const index = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    const tip = index === null || index === undefined || left < 0 ? undefined : this.#tooltipRows(index);
    if (!tip) {
      this.#tooltip.hidden = true;
      return;
    }
    this.#tooltip.replaceChildren(
      h('div', { class: 'tooltip-time' }, tip.time),
      ...tip.rows.map(([name, value]) =>
        h('div', { class: 'tooltip-row' }, h('span', {}, name), h('b', {}, value)),
      ),
    );
    if (tip.anomaly) this.#tooltip.append(h('div', { class: 'tooltip-anomaly' }, 'Anomaly'));
    this.#tooltip.hidden = false;
    const top = u.valToPos(tip.value, 'y');
    const flip = left > u.over.clientWidth - 150;
    this.#tooltip.style.left = `${flip ? left - 12 : left + 12}px`;
    this.#tooltip.style.transform = flip ? 'translateX(-100%)' : '';
    this.#tooltip.style.top = `${Math.max(0, Math.min(top - 20, u.over.clientHeight - 90))}px`;
  }

  #tooltipRows(
    index: number,
  ): { time: string; value: number; rows: [string, string][]; anomaly: boolean } | undefined {
    const unit = this.#options.unit;
    if (this.#data.kind === 'aggregate') {
      const bucket = this.#data.points[index];
      if (!bucket) return undefined;
      return {
        time: `${formatDate(bucket.t)} ${formatClock(bucket.t)}, ${this.#data.bucket}`,
        value: bucket.avg,
        anomaly: false,
        rows: [
          ['Average', formatValue(bucket.avg, unit)],
          ['Min', formatValue(bucket.min, unit)],
          ['Max', formatValue(bucket.max, unit)],
          ['Readings', String(bucket.count)],
        ],
      };
    }
    const point = this.#data.points[index];
    if (!point) return undefined;
    const e = point.enrichment;
    const rows: [string, string][] = [['Value', formatValue(point.value, unit)]];
    if (e?.mean !== undefined) rows.push(['Mean', formatValue(e.mean, unit)]);
    if (e?.stddev !== undefined) rows.push(['Std dev', formatValue(e.stddev)]);
    if (e?.zScore !== undefined && e.zScore !== null) rows.push(['z-score', formatValue(e.zScore)]);
    if (e?.delta !== undefined && e.delta !== null) rows.push(['Change', formatValue(e.delta)]);
    return { time: formatClock(point.t), value: point.value, rows, anomaly: e?.anomaly === true };
  }
}
