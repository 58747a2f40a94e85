/**
 * The secondary indexes the stores query, by name. `infra/topology.ts` declares each index of its
 * table under these names, so a rename reaches the deployed table and every query at once.
 */
export const INDEX = {
  devicesByApiKeyHash: 'byApiKeyHash',
  connectionsByDevice: 'byDevice',
  alertsByDevice: 'byDevice',
  alertsByState: 'byState',
} as const;
