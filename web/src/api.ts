/** The REST API as the dashboard uses it: bearer token, JSON, cursors followed. */
import * as z from 'zod/mini';
import type { Device } from '../../schemas/device.ts';
import { type AggregateSeries, appendPage, type BucketKey, parseAggregatePage } from './logic/aggregates.ts';
import { type AlertEntry, parseAlertList, parseAlertRecord } from './logic/alerts.ts';
import { parseDevices, parseReadingsPage, type ReadingData } from './logic/messages.ts';

/** The API said the token is missing, invalid or expired. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** The API answered something the dashboard cannot use. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Largest page `GET /devices/{id}/readings` serves. */
export const PAGE_LIMIT = 1000;
/** A safety stop for one history load: 100 pages of 1000 readings. */
export const MAX_PAGES = 100;

/** Largest page `GET /alerts` serves: a device's last 500 alerts are its charts' bands. */
export const ALERTS_LIMIT = 500;

export interface Api {
  devices(): Promise<Device[]>;
  /** Every reading of a device from `from` on (up to `to` when given), oldest first, all pages. */
  readings(deviceId: string, from: string, to?: string): Promise<ReadingData[]>;
  /** A device's buckets of `bucket` from `from` to `to`, per metric oldest first, all pages. */
  aggregates(deviceId: string, from: string, to: string, bucket: BucketKey): Promise<AggregateSeries>;
  /** A device's alerts, active and past, newest first, each with its timeline (its charts' alarm bands). */
  deviceAlerts(deviceId: string, nowMs: number): Promise<AlertEntry[]>;
  /** Active alerts, or an empty list while the API does not serve `GET /alerts` yet. */
  activeAlerts(nowMs: number): Promise<AlertEntry[]>;
  /** Acknowledges, snoozes (`{minutes}`) or resolves an alert; answers it as the API now has it. */
  actOnAlert(alertId: string, action: AlertAction, body?: { minutes: number }): Promise<AlertEntry>;
}

/** The answer of an alert action: `{alert}`, the alert itself read by {@link parseAlertRecord}. */
const AlertAnswer = z.object({ alert: z.unknown() });

export type AlertAction = 'acknowledge' | 'snooze' | 'resolve';

export const createApi = (apiUrl: string, token: string): Api => {
  const get = async (path: string): Promise<Response> => {
    const response = await fetch(`${apiUrl}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    if (response.status === 401) {
      throw new UnauthorizedError(`The API refused the token (${response.status})`);
    }
    return response;
  };
  const json = async (response: Response, what: string): Promise<unknown> => {
    if (!response.ok) throw new ApiError(`${what} answered ${response.status}`, response.status);
    return response.json();
  };

  return {
    async devices() {
      const devices = parseDevices(await json(await get('/devices'), 'GET /devices'));
      if (!devices) throw new ApiError('GET /devices answered an unexpected body', 200);
      return devices;
    },

    async readings(deviceId, from, to) {
      const items: ReadingData[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const query = new URLSearchParams({ from, limit: String(PAGE_LIMIT) });
        if (to) query.set('to', to);
        if (cursor) query.set('cursor', cursor);
        const path = `/devices/${encodeURIComponent(deviceId)}/readings?${query}`;
        const body = parseReadingsPage(await json(await get(path), `GET ${path}`));
        if (!body) throw new ApiError(`GET ${path} answered an unexpected body`, 200);
        items.push(...body.items);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      return items;
    },

    async aggregates(deviceId, from, to, bucket) {
      let loaded: AggregateSeries = {};
      let cursor: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const query = new URLSearchParams({ from, to, bucket, limit: String(PAGE_LIMIT) });
        if (cursor) query.set('cursor', cursor);
        const path = `/devices/${encodeURIComponent(deviceId)}/readings?${query}`;
        const body = parseAggregatePage(await json(await get(path), `GET ${path}`));
        if (!body) throw new ApiError(`GET ${path} answered an unexpected body`, 200);
        loaded = appendPage(loaded, body);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      return loaded;
    },

    async actOnAlert(alertId, action, body) {
      const path = `/alerts/${encodeURIComponent(alertId)}/${action}`;
      const response = await fetch(`${apiUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (response.status === 401)
        throw new UnauthorizedError(`The API refused the token (${response.status})`);
      const answer = await json(response, `POST ${path}`);
      const parsed = z.safeParse(AlertAnswer, answer);
      const alert = parsed.success ? parseAlertRecord(parsed.data.alert, Date.now()) : undefined;
      if (!alert) throw new ApiError(`POST ${path} answered an unexpected body`, response.status);
      return alert;
    },

    async deviceAlerts(deviceId, nowMs) {
      const query = new URLSearchParams({ deviceId, limit: String(ALERTS_LIMIT) });
      const path = `/alerts?${query}`;
      return parseAlertList(await json(await get(path), `GET ${path}`), nowMs);
    },

    async activeAlerts(nowMs) {
      const response = await get('/alerts?state=active');
      if (response.status !== 200) return [];
      return parseAlertList(await response.json(), nowMs);
    },
  };
};
