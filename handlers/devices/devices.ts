import type { AlertRecord } from '../../schemas/alert-record.ts';
import type { Device, PutDeviceRequest, RotateKeyRequest } from '../../schemas/device.ts';
import { type AlertLifecycleDeps, resolveByHand } from '../alerts/lifecycle.ts';
import { actorOf, canSee, type Principal } from '../lib/auth.ts';
import type { DeviceKeysStore } from '../lib/device-keys-store.ts';
import type { DeviceItem, DevicesStore } from '../lib/devices-store.ts';
import { toDevice } from '../lib/devices-store.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../lib/errors.ts';

export interface DevicesDeps {
  readonly devices: Pick<
    DevicesStore,
    'get' | 'create' | 'update' | 'list' | 'getMany' | 'getStored' | 'replaceKey' | 'markDeleted'
  >;
  readonly keys: Pick<DeviceKeysStore, 'add' | 'retire'>;
  newApiKey(): string;
  hashApiKey(apiKey: string): string;
  now(): Date;
}

/** What deleting a device also ends: its dashboards' subscriptions and its active alerts. */
export interface DeleteDeviceDeps extends DevicesDeps {
  endSubscriptionsTo(deviceId: string): Promise<void>;
  /**
   * The device's active alerts: those the history lists, and those of `openAlertIds` (the alerts
   * its alarm states hold open) it has recorded, read strongly consistent, since a raise recorded
   * a moment ago may not be in the history's index yet.
   */
  activeAlertsOf(deviceId: string, openAlertIds: readonly string[]): Promise<AlertRecord[]>;
  readonly lifecycle: AlertLifecycleDeps;
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
    const apiKeyHash = deps.hashApiKey(apiKey);
    // The key is recorded before the device, so the device never exists with a key that is refused.
    await deps.keys.add(apiKeyHash, deviceId);
    const item: DeviceItem = {
      deviceId,
      ...request,
      metrics: request.metrics ?? {},
      alarms: request.alarms ?? [],
      createdAt: now,
      updatedAt: now,
      apiKeyHash,
      alarmStates: {},
    };
    if (await deps.devices.create(item)) return { created: true, device: toDevice(item), apiKey };
    await deps.keys.retire(apiKeyHash, deviceId, deps.now());
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

/**
 * Issues a new key for a device, shown once. The key it replaces keeps working for
 * `graceSeconds` (default 0: refused from the next request on), then never again; a key still in
 * the grace of an earlier rotation is retired at once. The old key is retired before the new one
 * is issued, so a failure half-way never leaves an old key working for good.
 */
export const rotateKey = async (
  deviceId: string,
  request: RotateKeyRequest,
  deps: DevicesDeps,
): Promise<{ apiKey: string }> => {
  const stored = await deps.devices.getStored(deviceId);
  if (!stored || stored.deletedAt !== undefined)
    throw new NotFoundError(`Device ${deviceId} is not registered`);
  const now = deps.now();
  const graceEnd = new Date(now.getTime() + (request.graceSeconds ?? 0) * 1000);
  await deps.keys.retire(stored.apiKeyHash, deviceId, graceEnd);
  if (stored.previousApiKeyHash !== undefined)
    await deps.keys.retire(stored.previousApiKeyHash, deviceId, now);
  const apiKey = deps.newApiKey();
  const apiKeyHash = deps.hashApiKey(apiKey);
  await deps.keys.add(apiKeyHash, deviceId);
  if (!(await deps.devices.replaceKey(deviceId, stored.apiKeyHash, apiKeyHash, now.toISOString()))) {
    await deps.keys.retire(apiKeyHash, deviceId, now);
    throw new ConflictError(`The key of device ${deviceId} changed meanwhile; ask again`, []);
  }
  return { apiKey };
};

/**
 * Deletes a device: its keys are refused from the next request on (retired first, before
 * anything else changes), the device is gone from every list, dashboards stop receiving its
 * events, and its active alerts resolve with `by` naming who deleted it. Its readings stay, as
 * every reading does. Deleting it again finishes what a failed attempt left undone. An alert
 * whose raise had not reached the history yet is resolved by the history when it does (it finds
 * the tombstone), so none stays active.
 */
export const deleteDevice = async (
  principal: Principal,
  deviceId: string,
  deps: DeleteDeviceDeps,
): Promise<void> => {
  const stored = await deps.devices.getStored(deviceId);
  if (!stored) throw new NotFoundError(`Device ${deviceId} is not registered`);
  const now = deps.now();
  for (const keyHash of [stored.apiKeyHash, stored.previousApiKeyHash]) {
    if (keyHash !== undefined) await deps.keys.retire(keyHash, deviceId, now);
  }
  const tombstone = await deps.devices.markDeleted(deviceId, now.toISOString(), actorOf(principal));
  await deps.endSubscriptionsTo(deviceId);
  const by = tombstone.deletedBy ?? actorOf(principal);
  const open = Object.values(tombstone.alarmStates).flatMap((state) =>
    state.state === 'ALARM' && state.alertId !== undefined ? [state.alertId] : [],
  );
  for (const alert of await deps.activeAlertsOf(deviceId, open))
    await resolveByHand(alert, by, deps.lifecycle);
};
