/** The top bar: product name, time range (presets and a custom from/to), connection indicator, sign-out. */
import { h, setAttr, setText } from '../dom.ts';
import type { ConnectionStatus } from '../live-connection.ts';
import {
  customRangeProblem,
  fromLocalInput,
  isPreset,
  isPresetKey,
  PRESETS,
  type PresetKey,
  type TimeRange,
  toLocalInput,
  windowOf,
} from '../logic/time-range.ts';

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
  readonly #rangeButtons = new Map<PresetKey, HTMLButtonElement>();
  readonly #customButton: HTMLButtonElement;
  readonly #customForm: HTMLFormElement;
  readonly #customFrom: HTMLInputElement;
  readonly #customTo: HTMLInputElement;
  readonly #customProblem: HTMLElement;
  #status: ConnectionStatus = { state: 'connecting', attempt: 0 };

  constructor(options: { range: TimeRange; onRange: (range: TimeRange) => void; onSignOut: () => void }) {
    const ranges = h('div', { class: 'range-picker', role: 'group', 'aria-label': 'Time range' });
    for (const key of Object.keys(PRESETS).filter(isPresetKey)) {
      const button = h('button', { type: 'button', 'data-range': key }, PRESETS[key].label);
      button.addEventListener('click', () => {
        this.#customForm.hidden = true;
        options.onRange({ preset: key });
      });
      this.#rangeButtons.set(key, button);
      ranges.append(button);
    }
    this.#customButton = h(
      'button',
      { type: 'button', 'data-range': 'custom', 'aria-expanded': 'false', 'aria-controls': 'custom-range' },
      'Custom…',
    );
    this.#customButton.addEventListener('click', () => this.#toggleCustom());
    ranges.append(this.#customButton);
    this.#customFrom = h('input', { type: 'datetime-local', name: 'from', required: true });
    this.#customTo = h('input', { type: 'datetime-local', name: 'to', required: true });
    this.#customProblem = h('p', { class: 'custom-range-problem', role: 'alert', hidden: true });
    this.#customForm = h(
      'form',
      { class: 'custom-range', id: 'custom-range', hidden: true, 'aria-label': 'Custom time range' },
      h('label', {}, 'From ', this.#customFrom),
      h('label', {}, 'To ', this.#customTo),
      h('button', { type: 'submit' }, 'Show'),
      this.#customProblem,
    );
    this.#customForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const from = fromLocalInput(this.#customFrom.value);
      const to = fromLocalInput(this.#customTo.value);
      const problem = customRangeProblem(from, to);
      this.#customProblem.hidden = problem === undefined;
      setText(this.#customProblem, problem ?? '');
      if (problem || from === undefined || to === undefined) return;
      this.#customForm.hidden = true;
      setAttr(this.#customButton, 'aria-expanded', 'false');
      options.onRange({ from, to });
    });
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
      h(
        'div',
        { class: 'topbar-controls' },
        h('span', { class: 'range-label' }, 'Show last'),
        ranges,
        this.#customForm,
      ),
      h('div', { class: 'topbar-end' }, this.#indicator, signOut),
    );
    this.setRange(options.range, Date.now());
  }

  /** Marks the range shown; a custom one also fills the from/to inputs. */
  setRange(range: TimeRange, nowMs: number): void {
    const preset = isPreset(range) ? range.preset : undefined;
    for (const [key, button] of this.#rangeButtons) setAttr(button, 'aria-pressed', String(key === preset));
    setAttr(this.#customButton, 'aria-pressed', String(preset === undefined));
    const [from, to] = windowOf(range, nowMs);
    this.#customFrom.value = toLocalInput(from);
    this.#customTo.value = toLocalInput(to);
  }

  #toggleCustom(): void {
    const open = this.#customForm.hidden;
    this.#customForm.hidden = !open;
    this.#customProblem.hidden = true;
    setAttr(this.#customButton, 'aria-expanded', String(open));
    if (open) this.#customFrom.focus();
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
