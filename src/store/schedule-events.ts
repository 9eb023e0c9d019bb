/**
 * The cluster events of a scheduler's plan, the same on both backends: each ledger row a plan wrote
 * (and won) is a `schedule:fired` (its job was enqueued) or a `schedule:skipped` (skipped or missed
 * slots: overlap, catch-up, a pause). Written in the plan's transaction, beside the ledger rows.
 */
import type { NewClusterEvent } from '../cluster-events.js';
import type { SlotRecord } from '../schedule-types.js';

/** The events of the ledger rows a plan inserted; none for slots waiting behind an active run. */
export function slotEvents(slots: SlotRecord[]): NewClusterEvent[] {
  const events: NewClusterEvent[] = [];
  for (const slot of slots) {
    const data = { slotKey: slot.slotKey, slotAt: slot.slotAt.toISOString(), kind: slot.kind };
    if (slot.status === 'enqueued') {
      events.push({
        type: 'schedule:fired',
        scheduleId: slot.scheduleId,
        ...(slot.jobId !== null && { jobId: slot.jobId }),
        data,
      });
    } else if (slot.status === 'skipped' || slot.status === 'missed') {
      events.push({
        type: 'schedule:skipped',
        scheduleId: slot.scheduleId,
        data: { ...data, status: slot.status, reason: slot.reason, slotCount: slot.slotCount },
      });
    }
  }
  return events;
}
