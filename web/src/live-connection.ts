/**
 * The dashboard's WebSocket: connects with the viewer token, subscribes to every shown device,
 * and on any drop reconnects with exponential backoff and jitter, subscribes again and tells the
 * app, which then backfills over REST what the pushes missed.
 */
import type { PushMessage } from '../../schemas/websocket.ts';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './logic/backoff.ts';
import { parseServerMessage } from './logic/messages.ts';
import { subscriptionMessages } from './logic/subscriptions.ts';

/**
 * `connecting` before the first connection, `live` once every subscription is answered,
 * `reconnecting` after a drop while retrying, `offline` when the browser has no network or
 * several retries in a row have failed (it keeps retrying at the longest delay).
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionStatus {
  readonly state: ConnectionState;
  /** Failed attempts since the last good connection. */
  readonly attempt: number;
  /** When the next attempt starts (epoch ms), while waiting to retry. */
  readonly retryAt?: number;
}

export interface LiveConnectionOptions {
  /** The WebSocket URL including `?token=`. */
  readonly url: string;
  /** The devices to subscribe to on every (re)connection. */
  readonly deviceIds: () => readonly string[];
  readonly onStatus: (status: ConnectionStatus) => void;
  readonly onPush: (message: PushMessage) => void;
  /** Devices the server confirmed; `reconnected` is false only for the very first connection. */
  readonly onSubscribed: (deviceIds: readonly string[], reconnected: boolean) => void;
  readonly onForbidden?: (deviceIds: readonly string[]) => void;
  readonly backoff?: BackoffOptions;
}

/** After this many failed attempts in a row the indicator says offline. */
export const OFFLINE_AFTER_ATTEMPTS = 5;
/** A connection that has not opened after this long is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 10_000;

export class LiveConnection {
  readonly #options: LiveConnectionOptions;
  #socket: WebSocket | undefined;
  #attempt = 0;
  #connectedOnce = false;
  /** Whether the open socket replaced an earlier one (its subscriptions then need a backfill). */
  #reconnected = false;
  #pendingAnswers = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;
  #status: ConnectionStatus = { state: 'connecting', attempt: 0 };

  constructor(options: LiveConnectionOptions) {
    this.#options = options;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    window.addEventListener('online', this.#onOnline);
    window.addEventListener('offline', this.#onOffline);
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    window.removeEventListener('online', this.#onOnline);
    window.removeEventListener('offline', this.#onOffline);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#socket?.close(1000, 'Dashboard closed');
    this.#socket = undefined;
  }

  /** Subscribes devices that appeared after the connection was made. */
  subscribe(deviceIds: readonly string[]): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const message of subscriptionMessages('subscribe', deviceIds)) {
      this.#pendingAnswers++;
      socket.send(JSON.stringify(message));
    }
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.#options.onStatus(status);
  }

  #connect(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#setStatus({
      state: this.#connectedOnce ? (this.#isOffline() ? 'offline' : 'reconnecting') : 'connecting',
      attempt: this.#attempt,
    });
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.url);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    this.#pendingAnswers = 0;
    this.#connectTimer = setTimeout(() => socket.close(), CONNECT_TIMEOUT_MS);

    socket.addEventListener('open', () => {
      clearTimeout(this.#connectTimer);
      const reconnected = this.#connectedOnce;
      this.#connectedOnce = true;
      this.#attempt = 0;
      const messages = subscriptionMessages('subscribe', this.#options.deviceIds());
      this.#pendingAnswers = messages.length;
      this.#reconnected = reconnected;
      for (const message of messages) socket.send(JSON.stringify(message));
      if (messages.length === 0) this.#setStatus({ state: 'live', attempt: 0 });
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.#socket || typeof event.data !== 'string') return;
      this.#onMessage(event.data);
    });
    socket.addEventListener('close', () => {
      clearTimeout(this.#connectTimer);
      if (socket !== this.#socket) return;
      this.#socket = undefined;
      this.#scheduleRetry();
    });
  }

  #onMessage(text: string): void {
    const message = parseServerMessage(text);
    if (!message) return;
    switch (message.type) {
      case 'subscribed':
        this.#options.onSubscribed(message.deviceIds, this.#reconnected);
        this.#answered();
        return;
      case 'unsubscribed':
        return;
      case 'error':
        if (message.code === 'Forbidden' && message.deviceIds) this.#options.onForbidden?.(message.deviceIds);
        this.#answered();
        return;
      default:
        this.#options.onPush(message);
    }
  }

  #answered(): void {
    if (this.#pendingAnswers > 0) this.#pendingAnswers--;
    if (this.#pendingAnswers === 0 && this.#status.state !== 'live') {
      this.#setStatus({ state: 'live', attempt: 0 });
    }
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt, this.#options.backoff ?? DEFAULT_BACKOFF);
    this.#attempt++;
    const state: ConnectionState =
      this.#isOffline() || this.#attempt >= OFFLINE_AFTER_ATTEMPTS
        ? 'offline'
        : this.#connectedOnce
          ? 'reconnecting'
          : 'connecting';
    this.#setStatus({ state, attempt: this.#attempt, retryAt: Date.now() + delay });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #isOffline(): boolean {
    return typeof navigator !== 'undefined' && navigator.onLine === false;
  }

  readonly #onOnline = () => {
    if (this.#socket || this.#stopped) return;
    this.#attempt = 0;
    this.#connect();
  };

  readonly #onOffline = () => {
    if (!this.#socket) this.#setStatus({ ...this.#status, state: 'offline' });
  };
}
