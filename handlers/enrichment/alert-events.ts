import { AlertRaised, AlertResolved } from '../../schemas/events.ts';
import type { EventEntry } from '../lib/events.ts';
import { buildEntry } from '../lib/events.ts';
import type { AlertTransition } from './alert-state.ts';

/** The PutEvents entry of one alert transition; its event id follows from the transition's key. */
export const alertEntry = (
  alert: AlertTransition,
  busName: string,
  correlationId: string,
  producedAt: string,
): EventEntry =>
  buildEntry(alert.detailType === AlertRaised.detailType ? AlertRaised : AlertResolved, {
    busName,
    data: alert.data,
    idempotencyKey: alert.idempotencyKey,
    correlationId,
    producedAt,
  });
