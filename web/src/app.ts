/**
 * The dashboard: loads devices, charts their history, follows the WebSocket, and after every
 * (re)subscription backfills each device over REST from the last reading it had, so a dropped
 * connection never leaves a hole in a chart.
 */

import type { Device } from '../../schemas/device.ts';
import type { PushMessage } from '../../schemas/websocket.ts';
import { type AlertAction, type Api, createApi, UnauthorizedError } from './api.ts';
import { h, setAttr } from './dom.ts';
import { type ConnectionStatus, LiveConnection } from './live-connection.ts';
import {
  type AggregateView,
  aggregateView,
  BUCKETS,
  bucketStart,
  compactTail,
  drawnAggregates,
  planHistory,
  pruneAggregates,
} from './logic/aggregates.ts';
import { type AlarmBand, mergeBands, pruneBands, resolveBand } from './logic/alarm-bands.ts';
import {
  type AlertEntry,
  applyAlertToAlarmStates,
  applyLifecycle,
  canActOnAlerts,
  mergeLoadedAlerts,
  parseAlert,
  raiseAlert,
  replaceAlert,
  resolveAlert,
  roleOfToken,
} from './logic/alerts.ts';
import { BACKFILL_OVERLAP_MS, backfillWindow } from './logic/backfill.ts';
import { visibleWindow } from './logic/chart-scale.ts';
import { coalescing } from './logic/coalesce.ts';
import {
  applyEnriched,
  applyReadings,
  firstTimestamp,
  lastSeenOf,
  lastTimestamp,
  type MetricSeries,
  pruneSeries,
} from './logic/device-series.ts';
import {
  applyFailures,
  clearFailure,
  type EnrichmentFailures,
  failureNotice,
  pruneFailures,
} from './logic/enrichment-failures.ts';
import { type DashboardConfig, parseEnriched } from './logic/messages.ts';
import { SeenEvents } from './logic/seen-events.ts';
import { type DeviceStatus, deviceStatus, latest, parseTime } from './logic/status.ts';
import { socketUrl } from './logic/subscriptions.ts';
import {
  DEFAULT_PRESET,
  isPreset,
  isPresetKey,
  rangeFromQuery,
  rangeToQuery,
  sameRange,
  spanOf,
  type TimeRange,
  windowOf,
} from './logic/time-range.ts';
import { AlertsPanel } from './views/alerts-panel.ts';
import { ALL_DEVICES, DeviceList } from './views/device-list.ts';
import { DevicePanel, displayName } from './views/device-panel.ts';
import { Header } from './views/header.ts';

/** How often the device list (alarm states, new devices) is refreshed over REST. */
const DEVICES_REFRESH_MS = 30_000;
/** How often points that slid out of the time range are dropped. */
const PRUNE_EVERY_MS = 60_000;
/** Delay before a failed history load is tried again. */
const SYNC_RETRY_MS = 5_000;
const RANGE_STORAGE_KEY = 'sensorbus.range';

interface DeviceEntry {
  device: Device;
  series: MetricSeries;
  /** On long ranges, the buckets loaded from the API; `series` then holds only the raw tail from `tailFrom`. */
  aggregate: AggregateView | undefined;
  /** The device's alarm periods, shaded on its charts. */
  bands: readonly AlarmBand[];
  /** Shown readings the enrichment workflow gave up on. */
  failures: EnrichmentFailures;
  lastSeenMs: number | undefined;
  /** Whether the history of the current range has been loaded once. */
  loaded: boolean;
  readonly panel: DevicePanel;
  readonly sync: () => Promise<void>;
}

export interface DashboardOptions {
  readonly root: HTMLElement;
  readonly config: DashboardConfig;
  readonly token: string;
  /** The API refused the token. */
  readonly onUnauthorized: () => void;
  readonly onSignOut: () => void;
}

export class Dashboard {
  readonly #options: DashboardOptions;
  readonly #api: Api;
  readonly #live: LiveConnection;
  readonly #entries = new Map<string, DeviceEntry>();
  readonly #dirty = new Set<string>();
  readonly #seen = new SeenEvents();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #header: Header;
  readonly #list: DeviceList;
  readonly #alertsPanel: AlertsPanel;
  readonly #main: HTMLElement;
  readonly #notice: HTMLElement;
  #alerts: AlertEntry[] = [];
  #range: TimeRange;
  #selected = ALL_DEVICES;
  #generation = 0;
  #backfills = 0;
  #frame: number | undefined;
  #stopped = false;

  constructor(options: DashboardOptions) {
    this.#options = options;
    this.#api = createApi(options.config.apiUrl, options.token);
    const storedPreset = sessionStorage.getItem(RANGE_STORAGE_KEY);
    this.#range = rangeFromQuery(location.search) ?? {
      preset: isPresetKey(storedPreset) ? storedPreset : DEFAULT_PRESET,
    };
    this.#header = new Header({
      range: this.#range,
      onRange: (range) => this.#setRange(range),
      onSignOut: () => {
        this.stop();
        options.onSignOut();
      },
    });
    this.#list = new DeviceList((deviceId) => this.#select(deviceId));
    this.#alertsPanel = new AlertsPanel(
      canActOnAlerts(roleOfToken(options.token))
        ? {
            acknowledge: (alertId) => void this.#actOnAlert(alertId, 'acknowledge'),
            snooze: (alertId, minutes) => void this.#actOnAlert(alertId, 'snooze', { minutes }),
            resolve: (alertId) => void this.#actOnAlert(alertId, 'resolve'),
          }
        : undefined,
    );
    this.#alertsPanel.setDeviceNames((id) => {
      const entry = this.#entries.get(id);
      return entry ? displayName(entry.device) : id;
    });
    this.#notice = h('p', { class: 'main-notice', role: 'status' }, 'Loading devices…');
    this.#main = h('main', { class: 'device-panels', id: 'main', 'aria-label': 'Charts' }, this.#notice);
    this.#live = new LiveConnection({
      url: socketUrl(options.config.wsUrl, options.token),
      deviceIds: () => [...this.#entries.keys()],
      onStatus: (status) => this.#onConnection(status),
      onPush: (message) => this.#onPush(message),
      onSubscribed: (deviceIds, reconnected) => this.#onSubscribed(deviceIds, reconnected),
    });
  }

  async start(): Promise<void> {
    if (this.#stopped) return;
    const { root } = this.#options;
    root.replaceChildren(
      h('a', { class: 'skip-link', href: '#main' }, 'Skip to charts'),
      this.#header.element,
      h('div', { class: 'layout' }, this.#list.element, this.#main, this.#alertsPanel.element),
    );
    setAttr(root, 'data-backfills', 0);
    // The address always says the range shown, so it can be copied and shared as it is.
    history.replaceState(history.state, '', this.#address(this.#range));
    window.addEventListener('popstate', this.#onPopState);
    this.#alertsPanel.render([], Date.now());
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('device');

    let devices: Device[];
    try {
      devices = await this.#api.devices();
    } catch (error) {
      if (this.#handleUnauthorized(error)) return;
      this.#notice.textContent = `Could not load the devices (${describe(error)}). Retrying…`;
      setTimeout(() => void this.start(), SYNC_RETRY_MS);
      return;
    }
    if (this.#stopped) return;
    this.#setDevices(devices);
    if (fromHash && this.#entries.has(fromHash)) this.#select(fromHash);
    setAttr(root, 'data-ready', 'true');

    this.#live.start();
    for (const entry of this.#entries.values()) void entry.sync();
    void this.#loadActiveAlerts();

    this.#timers.push(
      setInterval(() => this.#tick(), 1000),
      setInterval(() => void this.#refreshDevices(), DEVICES_REFRESH_MS),
      setInterval(() => this.#prune(), PRUNE_EVERY_MS),
    );
    this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    window.removeEventListener('popstate', this.#onPopState);
    this.#live.stop();
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    for (const entry of this.#entries.values()) entry.panel.destroy();
    this.#entries.clear();
  }

  #window(nowMs = Date.now()): [number, number] {
    return windowOf(this.#range, nowMs);
  }

  /** A preset's window narrows to a fresh device's data; a custom range is shown as asked. */
  #chartWindow(entry: DeviceEntry, nowMs = Date.now()): [number, number] {
    if (!isPreset(this.#range)) return this.#window(nowMs);
    const firstBucket = entry.aggregate
      ? Math.min(
          ...Object.values(entry.aggregate.loaded).map((points) => points[0]?.t ?? Number.POSITIVE_INFINITY),
        )
      : Number.POSITIVE_INFINITY;
    const firstPoint = Math.min(firstBucket, firstTimestamp(entry.series) ?? Number.POSITIVE_INFINITY);
    return visibleWindow(nowMs, spanOf(this.#range), Number.isFinite(firstPoint) ? firstPoint : undefined);
  }

  /** This page's address showing `range`, keeping the rest (the selected device) as it is. */
  #address(range: TimeRange): string {
    return `${location.pathname}${rangeToQuery(range, location.search)}${location.hash}`;
  }

  /** Back and forward step through the ranges picked. */
  readonly #onPopState = (): void => {
    this.#setRange(rangeFromQuery(location.search) ?? { preset: DEFAULT_PRESET }, false);
  };

  #setDevices(devices: readonly Device[]): void {
    const added: string[] = [];
    for (const device of devices) {
      const entry = this.#entries.get(device.deviceId);
      const seen = parseTime(device.lastReading?.receivedAt);
      if (entry) {
        entry.device = device;
        entry.lastSeenMs = latest(entry.lastSeenMs, seen);
        entry.panel.setDevice(device);
        continue;
      }
      const panel = new DevicePanel(device);
      panel.prepare();
      const created: DeviceEntry = {
        device,
        series: {},
        aggregate: undefined,
        bands: [],
        failures: new Map(),
        lastSeenMs: seen,
        loaded: false,
        panel,
        sync: coalescing(() => this.#syncDevice(created)),
      };
      this.#entries.set(device.deviceId, created);
      this.#main.append(panel.element);
      added.push(device.deviceId);
    }
    this.#list.setDevices(devices);
    this.#notice.hidden = this.#entries.size > 0;
    this.#notice.textContent = 'No devices yet. Register one with PUT /devices/{deviceId}.';
    this.#applySelection();
    this.#tick();
    if (added.length > 0 && this.#live.status.state === 'live') this.#live.subscribe(added);
  }

  /**
   * Loads the range's history the first time, then catches up from the last reading seen. A range
   * holding more readings than a chart needs loads the API's buckets up to the current bucket, and
   * raw readings from there on (see `aggregates.ts`).
   */
  async #syncDevice(entry: DeviceEntry): Promise<void> {
    if (this.#stopped) return;
    const generation = this.#generation;
    const deviceId = entry.device.deviceId;
    const [rangeStart, rangeEnd] = this.#window();
    const to = isPreset(this.#range) ? undefined : new Date(rangeEnd).toISOString();
    const wasLoaded = entry.loaded;
    void this.#loadBands(entry, generation);
    try {
      const buckets = wasLoaded ? undefined : this.#loadBuckets(entry, rangeStart, rangeEnd);
      const tailStart = (wasLoaded ? entry.aggregate?.tailFrom : buckets?.tailFrom) ?? rangeStart;
      const { from } = backfillWindow(wasLoaded ? lastTimestamp(entry.series) : undefined, tailStart);
      const [loadedAggregate, readings] = await Promise.all([
        buckets?.loading,
        this.#api.readings(deviceId, from, to),
      ]);
      if (generation !== this.#generation || this.#stopped) return;
      // A catch-up keeps the buckets as they are (the prune may have folded the tail into them meanwhile).
      if (!wasLoaded) entry.aggregate = loadedAggregate;
      entry.series = applyReadings(entry.series, readings);
      this.#setFailures(entry, applyFailures(entry.failures, readings));
      entry.lastSeenMs = latest(entry.lastSeenMs, lastSeenOf(readings));
      entry.loaded = true;
      entry.panel.setError(undefined);
      setAttr(entry.panel.element, 'data-history', 'loaded');
      if (wasLoaded) {
        this.#backfills++;
        setAttr(this.#options.root, 'data-backfills', this.#backfills);
      }
      this.#markDirty(entry.device.deviceId);
    } catch (error) {
      if (this.#handleUnauthorized(error) || this.#stopped) return;
      entry.panel.setError(`Could not load readings (${describe(error)}); trying again shortly.`);
      setTimeout(() => void entry.sync(), SYNC_RETRY_MS);
    }
  }

  /**
   * On a range holding more of the device's readings than a chart needs, starts loading the
   * API's buckets up to the current one (`tailFrom`); the raw readings from there on are the tail.
   */
  #loadBuckets(
    entry: DeviceEntry,
    rangeStart: number,
    rangeEnd: number,
  ): { tailFrom: number; loading: Promise<AggregateView> } | undefined {
    const plan = planHistory(
      rangeEnd - rangeStart,
      entry.device.expectedIntervalSeconds,
      Date.now() - rangeStart,
    );
    if (plan.mode === 'raw') return undefined;
    const tailFrom = bucketStart(Math.min(Date.now(), rangeEnd), BUCKETS[plan.bucket]);
    const iso = (ms: number) => new Date(ms).toISOString();
    const loading = this.#api
      .aggregates(entry.device.deviceId, iso(rangeStart), iso(tailFrom), plan.bucket)
      .then((loaded) => aggregateView(plan.bucket, tailFrom, loaded));
    return { tailFrom, loading };
  }

  /**
   * Loads the device's alerts, active and past, for its charts' bands; after a reconnect too, so an
   * alarm raised or resolved while the WebSocket was down is drawn. A failure leaves the bands the
   * pushes drew: the charts still load.
   */
  async #loadBands(entry: DeviceEntry, generation: number): Promise<void> {
    try {
      const alerts = await this.#api.deviceAlerts(entry.device.deviceId, Date.now());
      if (generation !== this.#generation || this.#stopped) return;
      entry.bands = mergeBands(entry.bands, alerts);
      // Before the history arrives the charts show "loading"; the history's draw brings the bands.
      if (entry.loaded) this.#markDirty(entry.device.deviceId);
    } catch (error) {
      this.#handleUnauthorized(error);
    }
  }

  #onSubscribed(deviceIds: readonly string[], reconnected: boolean): void {
    for (const id of deviceIds) void this.#entries.get(id)?.sync();
    if (reconnected) {
      void this.#refreshDevices();
      void this.#loadActiveAlerts();
    }
  }

  #onConnection(status: ConnectionStatus): void {
    this.#header.setConnection(status, Date.now());
  }

  #onPush(message: PushMessage): void {
    if (!this.#seen.add(message.eventId)) return;
    const entry = this.#entries.get(message.deviceId);
    switch (message.type) {
      case 'ReadingEnriched': {
        const readings = parseEnriched(message.data);
        if (!entry || readings.length === 0) break;
        let failures = entry.failures;
        for (const enriched of readings) {
          entry.series = applyEnriched(entry.series, enriched);
          entry.lastSeenMs = latest(entry.lastSeenMs, parseTime(enriched.timestamp));
          failures = clearFailure(failures, enriched);
        }
        this.#setFailures(entry, failures);
        this.#markDirty(entry.device.deviceId);
        break;
      }
      case 'AlertAcknowledged':
      case 'AlertSnoozed':
      case 'AlertEscalated': {
        this.#alerts = applyLifecycle(
          this.#alerts,
          message.type,
          message.data,
          parseTime(message.time) ?? Date.now(),
        );
        this.#alertsPanel.render(this.#alerts, Date.now());
        break;
      }
      case 'AlertRaised':
      case 'AlertResolved': {
        const at = parseTime(message.time) ?? Date.now();
        const alert = parseAlert(message.data, at);
        if (!alert) break;
        const raised = message.type === 'AlertRaised';
        this.#alerts = raised
          ? raiseAlert(this.#alerts, alert)
          : resolveAlert(this.#alerts, alert, alert.raisedAt);
        this.#alertsPanel.render(this.#alerts, Date.now());
        if (entry) {
          entry.bands = raised
            ? mergeBands(entry.bands, [alert])
            : resolveBand(entry.bands, alert.alertId, alert.raisedAt);
          this.#markDirty(entry.device.deviceId);
          entry.device = {
            ...entry.device,
            alarmStates: applyAlertToAlarmStates(entry.device.alarmStates, alert, raised, alert.raisedAt),
          };
          entry.panel.setDevice(entry.device);
          this.#list.setDevices([...this.#entries.values()].map((e) => e.device));
          this.#tick();
        }
        break;
      }
    }
    if (!entry) void this.#refreshDevices();
  }

  #markDirty(deviceId: string): void {
    this.#dirty.add(deviceId);
    if (this.#frame !== undefined) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      const now = Date.now();
      for (const id of this.#dirty) {
        const entry = this.#entries.get(id);
        if (!entry) continue;
        const { aggregate } = entry;
        entry.panel.update(
          entry.series,
          this.#chartWindow(entry, now),
          entry.bands,
          aggregate
            ? { bucket: aggregate.bucket, series: drawnAggregates(aggregate, entry.series) }
            : undefined,
        );
      }
      this.#dirty.clear();
      this.#tick();
    });
  }

  #tick(): void {
    const now = Date.now();
    const counts: Record<DeviceStatus, number> = { online: 0, silent: 0, never: 0 };
    for (const entry of this.#entries.values()) {
      const status = deviceStatus(entry.lastSeenMs, entry.device.expectedIntervalSeconds, now);
      counts[status]++;
      entry.panel.setStatus(status, entry.lastSeenMs, now);
      this.#list.setStatus(entry.device.deviceId, status, entry.lastSeenMs, now);
      if (entry.loaded) entry.panel.slide(this.#chartWindow(entry, now));
    }
    this.#list.setSummary(counts);
    this.#header.tick(now);
    this.#alertsPanel.tick(now);
  }

  #prune(): void {
    const now = Date.now();
    const [rangeStart] = this.#window(now);
    for (const entry of this.#entries.values()) {
      if (entry.aggregate) {
        // Buckets that closed longer ago than a backfill reaches back will not change any more.
        const closedBefore = now - BACKFILL_OVERLAP_MS - BUCKETS[entry.aggregate.bucket];
        const compacted = compactTail(entry.aggregate, entry.series, closedBefore);
        entry.aggregate = pruneAggregates(compacted.view, rangeStart);
        entry.series = compacted.tail;
      }
      entry.series = pruneSeries(entry.series, rangeStart - 60_000);
      entry.bands = pruneBands(entry.bands, rangeStart - 60_000);
      this.#setFailures(entry, pruneFailures(entry.failures, rangeStart - 60_000));
    }
  }

  #setFailures(entry: DeviceEntry, failures: EnrichmentFailures): void {
    if (failures === entry.failures) return;
    entry.failures = failures;
    entry.panel.setEnrichmentNotice(failureNotice(failures, displayName(entry.device)));
  }

  /** Shows another range: a new entry in the page's history when picked, none when restored by back/forward. */
  #setRange(range: TimeRange, record = true): void {
    if (sameRange(range, this.#range)) return;
    this.#range = range;
    if (isPreset(range)) sessionStorage.setItem(RANGE_STORAGE_KEY, range.preset);
    if (record) history.pushState(null, '', this.#address(range));
    this.#header.setRange(range, Date.now());
    this.#generation++;
    for (const entry of this.#entries.values()) {
      entry.series = {};
      entry.aggregate = undefined;
      this.#setFailures(entry, new Map());
      entry.loaded = false;
      entry.panel.setLoading(true);
      void entry.sync();
    }
  }

  #select(deviceId: string): void {
    this.#selected = deviceId;
    history.replaceState(
      null,
      '',
      deviceId === ALL_DEVICES
        ? location.pathname + location.search
        : `#device=${encodeURIComponent(deviceId)}`,
    );
    this.#applySelection();
  }

  #applySelection(): void {
    const focused = this.#selected !== ALL_DEVICES && this.#entries.has(this.#selected);
    if (!focused) this.#selected = ALL_DEVICES;
    this.#list.select(this.#selected);
    this.#main.classList.toggle('focused', focused);
    for (const [id, entry] of this.#entries) entry.panel.element.hidden = focused && id !== this.#selected;
  }

  async #refreshDevices(): Promise<void> {
    try {
      this.#setDevices(await this.#api.devices());
    } catch (error) {
      this.#handleUnauthorized(error);
    }
  }

  /** Acts on an alert and shows the API's answer at once; the event that follows changes nothing more. */
  async #actOnAlert(alertId: string, action: AlertAction, body?: { minutes: number }): Promise<void> {
    try {
      const answered = await this.#api.actOnAlert(alertId, action, body);
      this.#alerts =
        answered.resolvedAt === undefined
          ? replaceAlert(this.#alerts, answered)
          : resolveAlert(replaceAlert(this.#alerts, answered), answered, answered.resolvedAt);
    } catch (error) {
      if (this.#handleUnauthorized(error)) return;
      this.#alertsPanel.actionFailed(alertId, Date.now());
      return;
    }
    this.#alertsPanel.render(this.#alerts, Date.now());
  }

  async #loadActiveAlerts(): Promise<void> {
    try {
      const loaded = await this.#api.activeAlerts(Date.now());
      this.#alerts = mergeLoadedAlerts(this.#alerts, loaded);
      this.#alertsPanel.render(this.#alerts, Date.now());
    } catch (error) {
      this.#handleUnauthorized(error);
    }
  }

  #handleUnauthorized(error: unknown): boolean {
    if (!(error instanceof UnauthorizedError)) return false;
    if (!this.#stopped) {
      this.stop();
      this.#options.onUnauthorized();
    }
    return true;
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
