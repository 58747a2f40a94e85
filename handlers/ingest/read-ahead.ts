import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeviceId } from '../../schemas/common.ts';
import type { DeviceKeyDeps } from '../authorizers/device-keys.ts';
import type { DeviceKeyItem } from '../lib/device-keys-store.ts';
import type { UploadView } from '../lib/devices-store.ts';
import { type ItemRead, readItemsAtOnce } from '../lib/dynamo.ts';
import { type HourItem, hourKeyOf } from '../lib/hour-items.ts';
import { canonicalTimestamp, inFourDigitYears } from '../lib/ids.ts';
import type { AdviceDeps } from './advice.ts';
import type { IngestDeps } from './ingest.ts';

/**
 * What a body says before it is validated: the device its (first) reading names and, for a body
 * of one reading, that reading's UTC hour. Undefined when it names no well-formed device id.
 */
export interface Claim {
  readonly deviceId: string;
  readonly hour?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The UTC hour of a timestamp as the ingest keys it, or undefined for one it would refuse. */
const hourOf = (timestamp: unknown): string | undefined => {
  if (typeof timestamp !== 'string') return undefined;
  try {
    const canonical = canonicalTimestamp(timestamp);
    return inFourDigitYears(canonical) ? hourKeyOf(canonical) : undefined;
  } catch {
    return undefined;
  }
};

/** What a parsed `POST /readings` body claims (see {@link Claim}). */
export const claimOf = (body: unknown): Claim | undefined => {
  const readings = isRecord(body) && 'readings' in body ? body.readings : [body];
  if (!Array.isArray(readings)) return undefined;
  const [first] = readings;
  if (!isRecord(first) || !DeviceId.safeParse(first.deviceId).success) return undefined;
  const hour = readings.length === 1 ? hourOf(first.timestamp) : undefined;
  return { deviceId: String(first.deviceId), ...(hour !== undefined ? { hour } : {}) };
};

/** The reads the ingest begins with, as the stores spell them. */
export interface FirstReads {
  key(apiKeyHash: string): ItemRead<DeviceKeyItem | undefined>;
  uploadView(deviceId: string): ItemRead<UploadView>;
  hour(deviceId: string, hour: string): ItemRead<HourItem | undefined>;
}

/** The ports the read-ahead serves: the key check's, the advice's and the first read of an hour. */
export type ReadAheadPorts = Pick<DeviceKeyDeps, 'keyByHash'> &
  Pick<AdviceDeps, 'uploadView'> &
  Pick<IngestDeps, 'readHour'>;

/**
 * The ingest's first reads in one round trip. An upload needs, one after the other, its key's
 * record (strongly consistent), the device's upload view, and for a lone reading that reading's
 * hour item (eventually consistent, `storeHour`'s first read): three GetItems, each a round trip
 * and most of the function's own work (the SDK's per-call middleware, signing and HTTP). The
 * device and the hour are those the body claims, so they are read in the key's BatchGetItem,
 * billed as the GetItems were, and served when the key turns out to be that device's; a claim
 * the key does not bear out (the request is then refused) is read for nothing, and anything not
 * read ahead is read as before. The body is parsed before the key is checked for this (bounded,
 * as every body is, by `parseJsonBody`); its errors are still answered after the key's 401.
 */
export const readAhead = (
  client: DynamoDBDocumentClient,
  reads: FirstReads,
  alone: ReadAheadPorts,
  claim: Claim | undefined,
): ReadAheadPorts => {
  let view: { readonly item: Record<string, unknown> | undefined } | undefined;
  let hourItem: { readonly item: Record<string, unknown> | undefined } | undefined;
  return {
    async keyByHash(apiKeyHash) {
      if (!claim) return alone.keyByHash(apiKeyHash);
      const key = reads.key(apiKeyHash);
      const [keyItem, viewItem, claimedHourItem] = await readItemsAtOnce(client, [
        key,
        reads.uploadView(claim.deviceId),
        ...(claim.hour !== undefined ? [reads.hour(claim.deviceId, claim.hour)] : []),
      ]);
      view = { item: viewItem };
      if (claim.hour !== undefined) hourItem = { item: claimedHourItem };
      return key.parse(keyItem);
    },
    async uploadView(deviceId) {
      if (!claim || !view || deviceId !== claim.deviceId) return alone.uploadView(deviceId);
      return reads.uploadView(deviceId).parse(view.item);
    },
    async readHour(deviceId, hour, consistent) {
      const ahead = hourItem;
      if (consistent || !claim || !ahead || deviceId !== claim.deviceId || hour !== claim.hour)
        return alone.readHour(deviceId, hour, consistent);
      hourItem = undefined;
      return reads.hour(deviceId, hour).parse(ahead.item);
    },
  };
};
