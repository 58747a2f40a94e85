/** The sidebar: every device with its status, last-seen time and worst alarm state; picks what the main area shows. */
import type { Device } from '../../../schemas/device.ts';
import { h, setAttr, setText } from '../dom.ts';
import {
  ALARM_STATE_LABELS,
  ALARM_STATE_SHORT_LABELS,
  formatRelative,
  STATUS_LABELS,
} from '../logic/format.ts';
import { locationText } from '../logic/messages.ts';
import { type DeviceStatus, worstAlarmState } from '../logic/status.ts';
import { displayName } from './device-panel.ts';

export const ALL_DEVICES = '*';

interface Item {
  readonly li: HTMLLIElement;
  readonly button: HTMLButtonElement;
  readonly name: HTMLElement;
  readonly location: HTMLElement;
  readonly seen: HTMLElement;
  readonly badge: HTMLElement;
}

export class DeviceList {
  readonly element: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #summary: HTMLElement;
  readonly #all: HTMLButtonElement;
  readonly #items = new Map<string, Item>();
  readonly #onSelect: (deviceId: string) => void;
  #selected = ALL_DEVICES;

  constructor(onSelect: (deviceId: string) => void) {
    this.#onSelect = onSelect;
    this.#summary = h('p', { class: 'sidebar-summary' });
    this.#all = h(
      'button',
      { type: 'button', class: 'device-item all-devices', 'aria-current': 'true' },
      h('span', { class: 'device-item-name' }, 'All devices'),
    );
    this.#all.addEventListener('click', () => this.#onSelect(ALL_DEVICES));
    this.#list = h('ul', { class: 'device-items' });
    this.element = h(
      'nav',
      { class: 'sidebar', 'aria-label': 'Devices' },
      h('div', { class: 'sidebar-heading' }, h('h2', {}, 'Devices'), this.#summary),
      this.#all,
      this.#list,
    );
  }

  /** Adds, updates and removes items to match `devices` (in this order). */
  setDevices(devices: readonly Device[]): void {
    const ids = new Set(devices.map((d) => d.deviceId));
    for (const [id, item] of this.#items) {
      if (!ids.has(id)) {
        item.li.remove();
        this.#items.delete(id);
      }
    }
    for (const device of devices) {
      const item = this.#items.get(device.deviceId) ?? this.#create(device.deviceId);
      setText(item.name, displayName(device));
      setText(item.location, locationText(device.location) ?? device.deviceId);
      const worst = worstAlarmState(device.alarmStates.map((a) => a.state));
      item.badge.hidden = worst === undefined;
      setAttr(item.badge, 'data-alarm-state', worst);
      setText(item.badge, worst ? ALARM_STATE_SHORT_LABELS[worst] : '');
      setAttr(item.badge, 'title', worst ? `Alarms: ${ALARM_STATE_LABELS[worst]}` : undefined);
      setAttr(item.li, 'data-alarm-state', worst);
      this.#list.append(item.li);
    }
    setText(this.#summary, '');
  }

  setStatus(deviceId: string, status: DeviceStatus, lastSeenMs: number | undefined, nowMs: number): void {
    const item = this.#items.get(deviceId);
    if (!item) return;
    setAttr(item.li, 'data-status', status);
    const seen = lastSeenMs === undefined ? 'never seen' : `seen ${formatRelative(lastSeenMs, nowMs)}`;
    setText(item.seen, lastSeenMs === undefined ? 'no data yet' : formatRelative(lastSeenMs, nowMs));
    setAttr(
      item.button,
      'aria-label',
      `${item.name.textContent ?? deviceId}: ${STATUS_LABELS[status]}, ${seen}`,
    );
  }

  setSummary(counts: Readonly<Record<DeviceStatus, number>>): void {
    const parts = [`${counts.online} online`];
    if (counts.silent > 0) parts.push(`${counts.silent} silent`);
    if (counts.never > 0) parts.push(`${counts.never} without data`);
    setText(this.#summary, parts.join(' · '));
  }

  select(deviceId: string): void {
    this.#selected = deviceId;
    setAttr(this.#all, 'aria-current', deviceId === ALL_DEVICES ? 'true' : undefined);
    for (const [id, item] of this.#items)
      setAttr(item.button, 'aria-current', id === deviceId ? 'true' : undefined);
  }

  #create(deviceId: string): Item {
    const name = h('span', { class: 'device-item-name' });
    const location = h('span', { class: 'device-item-location' });
    const seen = h('span', { class: 'device-item-seen' });
    const badge = h('span', { class: 'alarm-badge', hidden: true });
    const button = h(
      'button',
      { type: 'button', class: 'device-item', 'data-device-id': deviceId },
      h('span', { class: 'status-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'device-item-text' }, name, h('span', { class: 'device-item-sub' }, location, seen)),
      badge,
    );
    button.addEventListener('click', () => this.#onSelect(deviceId));
    const li = h('li', { 'data-device-id': deviceId }, button);
    const item = { li, button, name, location, seen, badge };
    this.#items.set(deviceId, item);
    if (this.#selected === deviceId) setAttr(button, 'aria-current', 'true');
    return item;
  }
}
