/**
 * Bulk actions (retry or cancel everything matching a filter) run as a series of short transactions of
 * at most BULK_BATCH rows each, so other writers (claims, finishes) never wait long behind them.
 */

/** Rows per transaction of a bulk action. */
export const BULK_BATCH = 500;

/**
 * Calls `batch` with batch sizes adding up to at most `limit` until a batch saw fewer rows than asked
 * for (nothing more matches). Returns the total of `changed`.
 */
export async function inBatches(
  limit: number,
  batch: (size: number) => Promise<{ seen: number; changed: number }>,
): Promise<number> {
  let seen = 0;
  let changed = 0;
  while (seen < limit) {
    const size = Math.min(BULK_BATCH, limit - seen);
    const result = await batch(size);
    seen += result.seen;
    changed += result.changed;
    if (result.seen < size) break;
  }
  return changed;
}
