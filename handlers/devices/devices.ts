import type { Device, PutDeviceRequest } from '../../schemas/device.ts';
import { canSee, type Principal } from '../lib/auth.ts';
import type { DeviceItem, DevicesStore } from '../lib/devices-store.ts';
import { toDevice } from '../lib/devices-store.ts';
import { ForbiddenError, NotFoundError } from '../lib/errors.ts';

export interface DevicesDeps {
  readonly devices: Pick<DevicesStore, 'get' | 'create' | 'update' | 'list' | 'getMany'>;
  newApiKey(): string;
  hashApiKey(apiKey: string): string;
  now(): Date;
}

export type PutDeviceOutcome =
  | { created: true; device: Device; apiKey: string }
  | { created: false; device: Device };

/**
 * Registers a device, or updates the fields the request names. On creation the API key is made,
 * returned this once, and only its hash is kept.
 */
export const putDevice = async (
  deviceId: string,
  request: PutDeviceRequest,
  deps: DevicesDeps,
): Promise<PutDeviceOutcome> => {
  const now = deps.now().toISOString();
  const existing = await deps.devices.get(deviceId);
  if (!existing) {
    const apiKey = deps.newApiKey();
    const item: DeviceItem = {
      deviceId,
      ...request,
      metrics: request.metrics ?? {},
      alarms: request.alarms ?? [],
      createdAt: now,
      updatedAt: now,
      apiKeyHash: deps.hashApiKey(apiKey),
      alarmStates: {},
    };
    if (await deps.devices.create(item)) return { created: true, device: toDevice(item), apiKey };
  }
  return { created: false, device: toDevice(await deps.devices.update(deviceId, request, now)) };
};

/** The devices a principal may see, sorted by id. */
export const listDevices = async (
  principal: Principal,
  deps: Pick<DevicesDeps, 'devices'>,
): Promise<Device[]> => {
  const items =
    principal.role === 'admin' || principal.deviceIds === '*'
      ? await deps.devices.list()
      : await deps.devices.getMany(principal.deviceIds);
  return items.map(toDevice);
};

export const getDevice = async (
  principal: Principal,
  deviceId: string,
  deps: Pick<DevicesDeps, 'devices'>,
): Promise<Device> => {
  if (!canSee(principal, deviceId))
    throw new ForbiddenError(`This token does not grant access to device ${deviceId}`);
  const item = await deps.devices.get(deviceId);
  if (!item) throw new NotFoundError(`Device ${deviceId} is not registered`);
  return toDevice(item);
};
