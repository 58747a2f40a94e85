/** The alerts panel: newest first, active alerts highlighted until they are resolved. */
import { h, setAttr, setText } from '../dom.ts';
import { type AlertEntry, activeCount } from '../logic/alerts.ts';
import { formatClock, formatRelative } from '../logic/format.ts';

export class AlertsPanel {
  readonly element: HTMLElement;
  readonly #list: HTMLOListElement;
  readonly #count: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #items = new Map<string, HTMLLIElement>();
  #alerts: readonly AlertEntry[] = [];
  #names: (deviceId: string) => string = (id) => id;

  constructor() {
    this.#count = h('span', { class: 'alert-count', 'data-active': 0 }, 'none active');
    this.#list = h('ol', { class: 'alert-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    this.#empty = h(
      'div',
      { class: 'alerts-empty' },
      h('p', { class: 'alerts-empty-title' }, 'All quiet'),
      h('p', {}, 'Threshold breaches and silent devices show up here the moment they are raised.'),
    );
    this.element = h(
      'aside',
      { class: 'alerts-panel', 'aria-labelledby': 'alerts-title' },
      h('div', { class: 'alerts-heading' }, h('h2', { id: 'alerts-title' }, 'Alerts'), this.#count),
      this.#empty,
      this.#list,
    );
  }

  setDeviceNames(names: (deviceId: string) => string): void {
    this.#names = names;
  }

  render(alerts: readonly AlertEntry[], nowMs: number): void {
    this.#alerts = alerts;
    const shown = new Set(alerts.map((alert) => alert.alertId));
    for (const [alertId, li] of this.#items) {
      if (shown.has(alertId)) continue;
      li.remove();
      this.#items.delete(alertId);
    }
    alerts.forEach((alert, index) => {
      const li = this.#items.get(alert.alertId) ?? this.#create(alert);
      this.#fill(li, alert, nowMs);
      if (this.#list.children[index] !== li) this.#list.insertBefore(li, this.#list.children[index] ?? null);
    });
    const active = activeCount(alerts);
    setAttr(this.#count, 'data-active', active);
    setText(this.#count, active === 0 ? 'none active' : `${active} active`);
    this.#empty.hidden = alerts.length > 0;
  }

  /** Refreshes the relative times. */
  tick(nowMs: number): void {
    for (const alert of this.#alerts) {
      const ago = this.#items.get(alert.alertId)?.querySelector('.alert-ago');
      if (ago) setText(ago, formatRelative(alert.raisedAt, nowMs));
    }
  }

  #create(alert: AlertEntry): HTMLLIElement {
    const li = h('li', { class: 'alert', 'data-alert-id': alert.alertId });
    this.#items.set(alert.alertId, li);
    return li;
  }

  #fill(li: HTMLElement, alert: AlertEntry, nowMs: number): void {
    const state = alert.resolvedAt === undefined ? 'raised' : 'resolved';
    setAttr(li, 'data-state', state);
    setAttr(li, 'data-severity', alert.severity);
    setAttr(li, 'data-device-id', alert.deviceId);
    const signature = `${state}|${alert.summary}|${alert.resolvedAt ?? ''}|${this.#names(alert.deviceId)}`;
    if (li.dataset.signature === signature) {
      const ago = li.querySelector('.alert-ago');
      if (ago) setText(ago, formatRelative(alert.raisedAt, nowMs));
      return;
    }
    li.dataset.signature = signature;
    li.replaceChildren(
      h(
        'div',
        { class: 'alert-top' },
        h('span', { class: 'severity', 'data-severity': alert.severity }, alert.severity),
        h('span', { class: 'alert-device' }, this.#names(alert.deviceId)),
        h(
          'time',
          { class: 'alert-time', datetime: new Date(alert.raisedAt).toISOString() },
          formatClock(alert.raisedAt),
        ),
      ),
      h('p', { class: 'alert-summary' }, alert.summary),
      h(
        'div',
        { class: 'alert-bottom' },
        h('span', { class: 'alert-ago' }, formatRelative(alert.raisedAt, nowMs)),
        alert.resolvedAt === undefined
          ? h('span', { class: 'alert-state' }, alert.kind === 'silence' ? 'Silent device' : 'Active')
          : h('span', { class: 'alert-state' }, `Resolved ${formatClock(alert.resolvedAt)}`),
      ),
    );
  }
}
