/** The top bar: product name, time range, connection indicator, sign-out. */
import { h, setAttr, setText } from '../dom.ts';
import type { ConnectionStatus } from '../live-connection.ts';
import { isRangeKey, RANGES, type RangeKey } from '../logic/backfill.ts';

const STATE_LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
} as const;

export class Header {
  readonly element: HTMLElement;
  readonly #indicator: HTMLElement;
  readonly #indicatorLabel: HTMLElement;
  readonly #indicatorDetail: HTMLElement;
  readonly #rangeButtons = new Map<RangeKey, HTMLButtonElement>();
  #status: ConnectionStatus = { state: 'connecting', attempt: 0 };

  constructor(options: { range: RangeKey; onRange: (range: RangeKey) => void; onSignOut: () => void }) {
    const ranges = h('div', { class: 'range-picker', role: 'group', 'aria-label': 'Time range' });
    for (const key of Object.keys(RANGES).filter(isRangeKey)) {
      const { label } = RANGES[key];
      const button = h(
        'button',
        { type: 'button', 'data-range': key, 'aria-pressed': String(key === options.range) },
        label,
      );
      button.addEventListener('click', () => options.onRange(key));
      this.#rangeButtons.set(key, button);
      ranges.append(button);
    }
    this.#indicatorLabel = h('span', { class: 'connection-label' }, STATE_LABELS.connecting);
    this.#indicatorDetail = h('span', { class: 'connection-detail' });
    this.#indicator = h(
      'div',
      { class: 'connection', role: 'status', 'aria-live': 'polite', 'data-state': 'connecting' },
      h('span', { class: 'connection-dot', 'aria-hidden': 'true' }),
      this.#indicatorLabel,
      this.#indicatorDetail,
    );
    const signOut = h('button', { type: 'button', class: 'sign-out' }, 'Sign out');
    signOut.addEventListener('click', options.onSignOut);
    this.element = h(
      'header',
      { class: 'topbar' },
      h(
        'div',
        { class: 'brand' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', { class: 'brand-name' }, 'sensorbus'),
        h('span', { class: 'brand-sub' }, 'Live telemetry'),
      ),
      h('div', { class: 'topbar-controls' }, h('span', { class: 'range-label' }, 'Show last'), ranges),
      h('div', { class: 'topbar-end' }, this.#indicator, signOut),
    );
  }

  setRange(range: RangeKey): void {
    for (const [key, button] of this.#rangeButtons) setAttr(button, 'aria-pressed', String(key === range));
  }

  setConnection(status: ConnectionStatus, nowMs: number): void {
    this.#status = status;
    setAttr(this.#indicator, 'data-state', status.state);
    setText(this.#indicatorLabel, STATE_LABELS[status.state]);
    this.tick(nowMs);
  }

  /** Counts down to the next reconnect attempt. */
  tick(nowMs: number): void {
    const { retryAt, state } = this.#status;
    const detail =
      state !== 'live' && retryAt !== undefined && retryAt > nowMs
        ? `retry in ${Math.ceil((retryAt - nowMs) / 1000)} s`
        : '';
    setText(this.#indicatorDetail, detail);
  }
}
