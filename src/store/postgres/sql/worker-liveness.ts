/**
 * Whether a worker is live (migration 029): its last heartbeat at most the longer of the reader's
 * bound and the worker's own `stale_ms` (its `workerStaleMs`) old, so a worker given a longer bound
 * (handlers that block its event loop for a while) is not taken for gone by readers or sweeps that
 * use the default one.
 */
export const workerLive = (s: string, w: string, bound: string): string =>
  `${w}.heartbeat_at >= ${s}.nightshift_now() - greatest(${bound}, ${w}.stale_ms) * interval '1 millisecond'`;
