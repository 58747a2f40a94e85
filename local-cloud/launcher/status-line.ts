/**
 * `npm start`'s status line: what the local cloud is doing, in one line, printed only when a
 * counter moved, so an idle system stays silent. Pure: the caller samples and prints.
 */
import type { LocalCloudStats } from './stats.ts';

/** The local cloud's counters at one moment. */
export interface StatusSample extends LocalCloudStats {
  readonly at: Date;
}

const count = (n: number): string => n.toLocaleString('en-US');

const clock = (at: Date): string =>
  [at.getHours(), at.getMinutes(), at.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');

const perSecond = (delta: number, ms: number): string => {
  const rate = ms > 0 ? Math.max(0, (delta * 1000) / ms) : 0;
  return rate > 0 && rate < 10 ? rate.toFixed(1) : count(Math.round(rate));
};

/** Whether anything a user would notice moved; memory alone always moves a little, so it does not count. */
const changed = (previous: StatusSample, current: StatusSample): boolean =>
  previous.acceptedReadings !== current.acceptedReadings ||
  previous.throttledRequests !== current.throttledRequests ||
  previous.pendingDeliveries !== current.pendingDeliveries ||
  previous.deadLetters !== current.deadLetters;

/**
 * The line for `current`, with the accepted rate since `previous`, or `undefined` when no counter
 * moved since `previous`. Times are the machine's local clock, as a person at the console reads it.
 */
export const statusLine = (previous: StatusSample | undefined, current: StatusSample): string | undefined => {
  if (previous && !changed(previous, current)) return undefined;
  const rate = previous
    ? ` (+${perSecond(current.acceptedReadings - previous.acceptedReadings, current.at.getTime() - previous.at.getTime())}/s)`
    : '';
  return [
    clock(current.at),
    `accepted ${count(current.acceptedReadings)}${rate}`,
    `throttled ${count(current.throttledRequests)}`,
    `pending deliveries ${count(current.pendingDeliveries)}`,
    `dead letters ${count(current.deadLetters)}`,
    `rss ${count(Math.round(current.rssBytes / 2 ** 20))} MB`,
  ].join('  ');
};
