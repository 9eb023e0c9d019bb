/**
 * RELIABILITY 18 on one backend: five scheduler processes over one every-second schedule, one of them
 * killed with SIGKILL about every 600 ms for ~15 s and replaced at once (the new one boots meanwhile). Afterwards every second from the
 * first slot to the last has exactly one ledger row and one job: no duplicates, no gaps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/store.js';
import { startChild, type Child } from '../support/child-process.js';
import { waitUntil } from '../support/wait-until.js';

const CHILD = new URL('./fixtures/scheduler-child.ts', import.meta.url);
const RUN_MS = 15_000;

/** Registers the test for a store opened by `open`, whose children connect with `args`. */
export function describeSchedulerProcesses(
  open: () => Promise<{ store: Store; args: string[]; close: () => Promise<void> }>,
): void {
  it('five schedulers with random kills write exactly one job per slot', { timeout: 60_000 }, async () => {
    const { store, args, close } = await open();
    const ns = await Nightshift.connect({
      db: store,
      tasks: { tick: () => undefined },
      logger: createLogger({ level: 'silent' }),
    });
    const children = new Set<Child>();
    const spawnOne = async () => {
      const child = startChild(CHILD, args);
      child.done.catch(() => undefined);
      children.add(child);
      await waitUntil(() => child.lines.includes('ready'), {
        timeoutMs: 20_000,
        message: 'scheduler child ready',
      });
      return child;
    };
    try {
      await Promise.all([1, 2, 3, 4, 5].map(() => spawnOne()));
      // Overlap allow: no worker runs here, so every slot's job stays queued and none is skipped for it.
      await ns.schedules.create({
        id: 'tick',
        task: 'tick',
        everyMs: 1000,
        overlap: 'allow',
        catchUp: 'all',
        catchUpLimit: 100,
      });
      const end = Date.now() + RUN_MS;
      let kills = 0;
      while (Date.now() < end) {
        await sleep(400 + Math.random() * 400);
        const victims = [...children];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        if (victim === undefined) continue;
        victim.process.kill('SIGKILL');
        children.delete(victim);
        kills += 1;
        // Not awaited: a replacement boots (about a second) while the next kill comes.
        spawnOne().catch(() => undefined);
      }
      const last = (await store.now()).getTime();
      // Let the survivors catch up to `last`, then stop everyone.
      await waitUntil(
        async () => {
          const s = await ns.schedules.get('tick', { recentSlots: 1 });
          return (s?.schedule.lastSlotAt?.getTime() ?? 0) >= last - 1000;
        },
        { timeoutMs: 10_000, message: 'schedulers caught up' },
      );
      for (const child of children) child.process.kill('SIGKILL');
      expect(kills).toBeGreaterThan(10);

      const ledger = await store.scheduleSlotList({ scheduleId: 'tick', limit: 100_000 });
      const jobs: Array<{ slot: number; key: string | null }> = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.jobList({ limit: 500, ...(cursor !== undefined && { cursor }) });
        for (const job of page.jobs)
          jobs.push({ slot: job.scheduleSlot?.getTime() ?? -1, key: job.idempotencyKey });
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(ledger.every((row) => row.status === 'enqueued' && row.jobId !== null)).toBe(true);
      const slots = jobs.map((j) => j.slot).sort((a, b) => a - b);
      expect(new Set(slots).size).toBe(slots.length);
      expect(slots.length).toBe(ledger.length);
      const first = slots[0] ?? 0;
      const lastSlot = slots[slots.length - 1] ?? 0;
      expect(slots.length).toBe((lastSlot - first) / 1000 + 1);
      expect(slots.length).toBeGreaterThan(RUN_MS / 1000 - 2);
    } finally {
      for (const child of children) child.process.kill('SIGKILL');
      await ns.close();
      await close();
    }
  });
}
