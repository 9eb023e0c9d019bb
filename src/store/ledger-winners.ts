/**
 * Which of a plan's new ledger rows won, the same on both backends. The ledger's (schedule, slot key)
 * key lets a slot be recorded once, ever: when two schedulers plan the same slot, the INSERT keeps the
 * first row and skips the other, and the loser's job must not be enqueued either.
 */
import type { SlotRecord } from '../schedule-types.js';
import type { NewJob } from './store.js';

/** The (schedule, slot key) pair of a ledger row the INSERT wrote, as its RETURNING answers it. */
export interface InsertedSlotKey {
  schedule_id: string;
  slot_key: string;
}

/** The slots whose rows the INSERT wrote, and the planned jobs not tied to a slot that lost. */
export function ledgerWinners(
  planned: { slots: SlotRecord[]; jobs: NewJob[] },
  inserted: InsertedSlotKey[],
): { slots: SlotRecord[]; jobs: NewJob[] } {
  const won = new Set(inserted.map((row) => `${row.schedule_id}\u0000${row.slot_key}`));
  const slots: SlotRecord[] = [];
  const refused = new Set<string>();
  for (const slot of planned.slots) {
    if (won.has(`${slot.scheduleId}\u0000${slot.slotKey}`)) slots.push(slot);
    else if (slot.jobId !== null) refused.add(slot.jobId);
  }
  return { slots, jobs: planned.jobs.filter((job) => !refused.has(job.id)) };
}
