/**
 * Alarm periods as a device's charts shade them: each alert is a band from when it was raised to
 * when it resolved, or to the chart's right edge while it is still active. A threshold alert
 * shades its metric's chart; a silence alert shades every chart of the device, since no metric
 * arrived. Bands come from `GET /alerts?deviceId=` (each alert with its timeline) and are kept
 * current by `AlertRaised` / `AlertResolved` pushes, keyed by `alertId`, so a push delivered twice
 * or overlapping the REST load changes nothing.
 */
import type { AlertEntry } from './alerts.ts';

export interface AlarmBand {
  readonly alertId: string;
  /** `threshold` or `silence` (kept as text, like the alert's kind). */
  readonly kind: string;
  readonly severity: 'warning' | 'critical';
  /** The metric a threshold alert watches; none for silence. */
  readonly metric?: string;
  /** Epoch ms the alarm was raised. */
  readonly from: number;
  /** Epoch ms it resolved; undefined while it is active. */
  readonly to?: number;
}

/** A band placed in a chart's time window: clipped to it, open bands running to its right edge. */
export interface PlacedBand {
  readonly alertId: string;
  readonly kind: string;
  readonly severity: 'warning' | 'critical';
  readonly from: number;
  readonly to: number;
  /** Whether the alarm is still active. */
  readonly open: boolean;
}

const raisedStep = (alert: AlertEntry): number | undefined =>
  alert.timeline?.find((step) => step.type === 'AlertRaised')?.at;

/**
 * The band of an alert as the alerts API describes it. The timeline's `AlertRaised` step is the
 * start when there is one (a record whose resolution arrived before its raise has no `raisedAt`);
 * a start after the resolution is clamped to it.
 */
export const bandOf = (alert: AlertEntry): AlarmBand => {
  const raised = raisedStep(alert) ?? alert.raisedAt;
  const from = alert.resolvedAt === undefined ? raised : Math.min(raised, alert.resolvedAt);
  return {
    alertId: alert.alertId,
    kind: alert.kind,
    severity: alert.severity,
    ...(alert.metric !== undefined ? { metric: alert.metric } : {}),
    from,
    ...(alert.resolvedAt !== undefined ? { to: alert.resolvedAt } : {}),
  };
};

const byStart = (a: AlarmBand, b: AlarmBand) => a.from - b.from || a.alertId.localeCompare(b.alertId);

/** Two views of one alert's band: the earliest start wins, and resolved is final (an alert never re-opens). */
const combine = (known: AlarmBand, incoming: AlarmBand): AlarmBand => {
  const to = incoming.to ?? known.to;
  return {
    ...known,
    ...incoming,
    from: Math.min(known.from, incoming.from),
    ...(to !== undefined ? { to } : {}),
  };
};

/** Bands after alerts loaded from the API (or one raised push): added, or merged into the band of the same alert. */
export const mergeBands = (bands: readonly AlarmBand[], alerts: readonly AlertEntry[]): AlarmBand[] => {
  const byId = new Map(bands.map((band) => [band.alertId, band]));
  for (const alert of alerts) {
    const incoming = bandOf(alert);
    const known = byId.get(alert.alertId);
    byId.set(alert.alertId, known ? combine(known, incoming) : incoming);
  }
  return [...byId.values()].sort(byStart);
};

/**
 * Bands after an `AlertResolved` push at `atMs`: the alert's band closes there. An alert whose
 * raise the dashboard never learnt of is left out until the next load tells its start.
 */
export const resolveBand = (bands: readonly AlarmBand[], alertId: string, atMs: number): AlarmBand[] =>
  bands.map((band) =>
    band.alertId === alertId && band.to === undefined ? { ...band, to: Math.max(band.from, atMs) } : band,
  );

/** The bands one metric's chart shows: the alerts on that metric, and the device's silences. */
export const bandsForMetric = (bands: readonly AlarmBand[], metric: string): AlarmBand[] =>
  bands.filter((band) => (band.kind === 'threshold' ? band.metric === metric : band.kind === 'silence'));

/** The bands that overlap the window `[from, to]`, clipped to it; active ones reach its right edge. */
export const placeBands = (
  bands: readonly AlarmBand[],
  [from, to]: readonly [number, number],
): PlacedBand[] =>
  bands.flatMap((band) => {
    const end = band.to ?? to;
    if (end < from || band.from > to) return [];
    return [
      {
        alertId: band.alertId,
        kind: band.kind,
        severity: band.severity,
        from: Math.max(band.from, from),
        to: Math.min(end, to),
        open: band.to === undefined,
      },
    ];
  });

/** Drops bands that ended before `fromMs`, keeping memory bounded to the chosen time range. */
export const pruneBands = (bands: readonly AlarmBand[], fromMs: number): AlarmBand[] =>
  bands.filter((band) => band.to === undefined || band.to >= fromMs);
