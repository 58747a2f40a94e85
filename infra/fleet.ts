import { STAGE_THROTTLE } from './api.ts';

/**
 * The fleet a deployment is sized for, declared once: the CDK app reads it from the context
 * (`-c fleetDevices=1000000 -c fleetUploadSeconds=300`), the stage throttles follow it, and the cost
 * model's quota report sizes the same throttles for the fleet it is asked about.
 */

export interface FleetSize {
  /** Devices posting. */
  readonly devices: number;
  /** Seconds between two uploads of one device. */
  readonly uploadSeconds: number;
}

/** What a stage is sized for when the context names no fleet. */
export const DEFAULT_FLEET: FleetSize = { devices: 1_000, uploadSeconds: 60 };

/**
 * Headroom of a throttle over the average rate: devices are not evenly spread over their interval
 * (they start together after an outage, their clocks drift into step).
 */
export const THROTTLE_HEADROOM = 3;

/**
 * The smallest stage throttle, the one `infra/api.ts` declares for the stages (and the local
 * gateways apply): a dashboard and a handful of devices must never be throttled.
 */
export const MIN_STAGE_THROTTLE = STAGE_THROTTLE.rest;

const positive = (value: unknown, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value.replaceAll('_', '')) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
    throw new Error(`Context "${name}" must be a number > 0; got ${String(value)}`);
  return n;
};

/** Validates the fleet context values (`fleetDevices`, `fleetUploadSeconds`). */
export const fleetSize = (devices: unknown, uploadSeconds: unknown): FleetSize => ({
  devices: positive(devices, 'fleetDevices', DEFAULT_FLEET.devices),
  uploadSeconds: positive(uploadSeconds, 'fleetUploadSeconds', DEFAULT_FLEET.uploadSeconds),
});

/** Average uploads per second of a fleet. */
export const uploadsPerSecond = (fleet: FleetSize): number => fleet.devices / fleet.uploadSeconds;

/**
 * The REST stage's throttle for a fleet: the headroom over its average upload rate, never below
 * the minimum; the burst is twice the rate
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
 */
export const stageThrottle = (fleet: FleetSize): { rateLimit: number; burstLimit: number } => {
  const rateLimit = Math.max(
    MIN_STAGE_THROTTLE.rateLimit,
    Math.ceil(uploadsPerSecond(fleet) * THROTTLE_HEADROOM),
  );
  return { rateLimit, burstLimit: Math.max(MIN_STAGE_THROTTLE.burstLimit, 2 * rateLimit) };
};
