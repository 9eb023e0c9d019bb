/**
 * Whether a worker is live (migration 021): its last heartbeat at most the longer of the reader's
 * bound @staleMs and the worker's own `stale_ms` (its `workerStaleMs`) old at @now, so a worker given
 * a longer bound (handlers that block its event loop for a while) is not taken for gone by readers or
 * sweeps that use the default one.
 */
export const workerLive = `heartbeat_at >= @now - max(@staleMs, stale_ms)`;
