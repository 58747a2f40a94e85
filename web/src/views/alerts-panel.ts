/** The alerts panel: newest first, active alerts highlighted until they are resolved. */
import { h, setAttr, setText } from '../dom.ts';
import { type AlertEntry, activeCount, SNOOZE_CHOICES } from '../logic/alerts.ts';
import { formatClock, formatRelative } from '../logic/format.ts';

/** What the panel's buttons do; absent for a viewer, who sees no buttons. */
export interface AlertActions {
  acknowledge(alertId: string): void;
  snooze(alertId: string, minutes: number): void;
  resolve(alertId: string): void;
}

const snoozeLabel = (minutes: number): string => (minutes < 60 ? `${minutes} min` : `${minutes / 60} h`);

const STEP_LABELS: Readonly<Record<string, string>> = {
  AlertRaised: 'Raised',
  AlertAcknowledged: 'Acknowledged',
  AlertSnoozed: 'Snoozed',
  AlertEscalated: 'Escalated',
  AlertResolved: 'Resolved',
};

export class AlertsPanel {
  readonly element: HTMLElement;
  readonly #list: HTMLOListElement;
  readonly #count: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #items = new Map<string, HTMLLIElement>();
  #alerts: readonly AlertEntry[] = [];
  #names: (deviceId: string) => string = (id) => id;
  readonly #actions: AlertActions | undefined;

  constructor(actions?: AlertActions) {
    this.#actions = actions;
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

  /** Redraws an alert whose action failed, so its buttons can be pressed again. */
  actionFailed(alertId: string, nowMs: number): void {
    const li = this.#items.get(alertId);
    if (li) delete li.dataset.signature;
    this.render(this.#alerts, nowMs);
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
    setAttr(li, 'data-acknowledged', alert.acknowledgedBy !== undefined ? 'true' : 'false');
    const snoozed = alert.snoozedUntil !== undefined && alert.snoozedUntil > nowMs;
    setAttr(li, 'data-snoozed', snoozed ? 'true' : 'false');
    const steps = (alert.timeline ?? []).map((step) => `${step.type}@${step.at}`).join(',');
    const signature = `${state}|${alert.summary}|${alert.resolvedAt ?? ''}|${this.#names(alert.deviceId)}|${alert.acknowledgedBy ?? ''}|${snoozed}|${steps}`;
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
      ...this.#timelineOf(alert),
      ...this.#buttonsFor(alert, snoozed),
    );
  }

  #timelineOf(alert: AlertEntry): HTMLElement[] {
    const steps = alert.timeline ?? [];
    if (steps.length === 0) return [];
    return [
      h(
        'ol',
        { class: 'alert-timeline', 'aria-label': 'Timeline' },
        ...steps.map((step) =>
          h(
            'li',
            { 'data-step': step.type },
            h('time', { datetime: new Date(step.at).toISOString() }, formatClock(step.at)),
            ` ${STEP_LABELS[step.type] ?? step.type}${step.by ? ` by ${step.by.split('/')[0]}` : ''}`,
          ),
        ),
      ),
    ];
  }

  /** Acknowledge, snooze and resolve, for an active alert and a token that may act (none for a viewer). */
  #buttonsFor(alert: AlertEntry, snoozed: boolean): HTMLElement[] {
    const actions = this.#actions;
    if (!actions || alert.resolvedAt !== undefined) return [];
    const button = (label: string, action: string, onClick: () => void) => {
      const element = h('button', { type: 'button', class: 'alert-action', 'data-action': action }, label);
      element.addEventListener('click', () => {
        element.setAttribute('disabled', '');
        onClick();
      });
      return element;
    };
    return [
      h(
        'div',
        { class: 'alert-actions' },
        ...(alert.acknowledgedBy === undefined
          ? [button('Acknowledge', 'acknowledge', () => actions.acknowledge(alert.alertId))]
          : []),
        ...(snoozed
          ? []
          : SNOOZE_CHOICES.map((minutes) =>
              button(`Snooze ${snoozeLabel(minutes)}`, `snooze-${minutes}`, () =>
                actions.snooze(alert.alertId, minutes),
              ),
            )),
        button('Resolve', 'resolve', () => actions.resolve(alert.alertId)),
      ),
    ];
  }
}
