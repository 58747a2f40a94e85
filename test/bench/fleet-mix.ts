import {
  DEFAULT_ALERTS_PER_DEVICE_PER_DAY,
  DEFAULT_DASHBOARDS,
  DEFAULT_DEVICES_PER_DASHBOARD,
} from '../../tools/cost/defaults.ts';
import { type UploadShape, uploadShapeOf } from '../../tools/cost/model.ts';

/**
 * The fleet the whole system is measured with: the one `npm run cost` prices by default at the
 * issue's headline, a million devices reporting every 5 minutes, 1,000 dashboards following 100
 * devices each. A tenth of the devices is watched and streams each reading; the others upload what
 * the ingest answer lets them buffer (an hour: 12 readings).
 */
export const MEASURED_FLEET = {
  devices: 1_000_000,
  intervalSeconds: 300,
  dashboards: DEFAULT_DASHBOARDS,
  devicesPerDashboard: DEFAULT_DEVICES_PER_DASHBOARD,
  alertsPerDevicePerDay: DEFAULT_ALERTS_PER_DEVICE_PER_DAY,
} as const;

/** The devices of one cycle of the load: each posts one upload a cycle. */
export interface FleetMix {
  readonly shape: UploadShape;
  /** Devices that stream (one reading an upload), with a dashboard following them. */
  readonly watchedDevices: number;
  /** Devices that upload {@link unwatchedUploadReadings} readings at a time. */
  readonly unwatchedDevices: number;
  /** The readings of an unwatched device's upload: the fleet's average (`shape`), to whole readings. */
  readonly unwatchedUploadReadings: number;
}

/**
 * As many watched and unwatched devices, each posting once a cycle, as make the fleet's mix of
 * uploads: per hour a watched device uploads `3600 / interval` times, an unwatched one
 * `N` times fewer, so watched : unwatched devices = `w·N : (1 − w)`. The smallest whole numbers
 * within 2 % of that ratio, scaled to at least `minDevices` (one upload of each device in flight at
 * a time under the load's concurrency, as a device has).
 */
export const fleetMixOf = (shape: UploadShape, minDevices: number): FleetMix => {
  const w = shape.watchedFraction;
  if (w <= 0 || w >= 1) throw new RangeError(`a fleet mix needs watched and unwatched devices; watched ${w}`);
  const unwatchedUploadReadings = Math.max(1, Math.round(shape.unwatchedUploadReadings));
  const ratio = (w * unwatchedUploadReadings) / (1 - w);
  let unwatched = 1;
  while (
    unwatched < 100 &&
    Math.abs(Math.round(ratio * unwatched) - ratio * unwatched) > 0.02 * ratio * unwatched
  )
    unwatched++;
  const watched = Math.max(1, Math.round(ratio * unwatched));
  const scale = Math.max(1, Math.ceil(minDevices / (watched + unwatched)));
  return {
    shape,
    watchedDevices: watched * scale,
    unwatchedDevices: unwatched * scale,
    unwatchedUploadReadings,
  };
};

/** The measured fleet's mix, for a load of `connections` requests in flight. */
export const measuredFleetMix = (connections: number): FleetMix =>
  fleetMixOf(uploadShapeOf(MEASURED_FLEET), connections);
