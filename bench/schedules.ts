/**
 * Scheduler benchmark: N schedules (default 10,000) on one cron, `* * * * *` (every minute), and ONE
 * scheduler (default options: 1 s passes, 5 s lookahead). For each minute boundary it reports:
 * - run lag per job: when the job became claimable (the later of its insert and its due time, both on
 *   the store's clock) minus the slot, as p50 / p95 / p99 / max; 0 means waiting when the minute turned;
 * - how many jobs were written before the slot (lookahead), and when the last insert began (its
 *   transaction's start on the store clock);
 * - overall: when the last of the N jobs was visible to a reader, minus the slot (negative: before it).
 *
 *   node --import tsx bench/schedules.ts [--backends sqlite,postgres] [--count 10000] [--minutes 1]
 *                                        [--lookahead 5000]   (0: no early enqueue; lag = pass time)
 *
 * PostgreSQL runs in its own schema of NIGHTSHIFT_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test),
 * dropped afterwards; SQLite on a temporary file. Nothing runs jobs: the schedules use overlap `allow`
 * so every slot of every schedule is enqueued and counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import type { ScheduleInput } from '../src/schedule-types.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const PG_URL = process.env['NIGHTSHIFT_BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const QUEUE = 'bench-schedules';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function openBackend(name: string): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-'));
    const store = await SqliteStore.open({ filename: join(dir, 'bench.db') });
    return { store, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const schema = `bench_schedules_${process.pid}`;
  const store = await PostgresStore.open({ connectionString: PG_URL, schema });
  return {
    store,
    cleanup: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

async function queuedCount(store: Store): Promise<number> {
  const counts = await store.jobCountByQueue();
  return counts.filter((c) => c.queue === QUEUE).reduce((sum, c) => sum + c.count, 0);
}

async function benchOne(name: string, count: number, minutes: number, lookaheadMs: number): Promise<void> {
  const { store, cleanup } = await openBackend(name);
  const ns = await Nightshift.connect({
    db: store,
    tasks: { tick: { handler: () => undefined, queue: QUEUE } },
    logger: createLogger({ level: 'silent' }),
  });
  try {
    // Every schedule fires at the same chosen minutes of the hour only, far enough ahead for the sync
    // to finish first, so no earlier slot is still being written when a measured one comes due.
    const first = Math.ceil((Date.now() + 120_000) / 60_000) * 60_000;
    const slots = Array.from({ length: minutes }, (_, i) => first + i * 60_000);
    const cron = `${slots.map((t) => new Date(t).getUTCMinutes()).join(',')} * * * *`;
    const schedules: ScheduleInput[] = Array.from({ length: count }, (_, i) => ({
      id: `s${String(i).padStart(6, '0')}`,
      task: 'tick',
      cron,
      overlap: 'allow',
    }));
    const syncStarted = performance.now();
    const scheduler = ns.startScheduler({ schedules, lookaheadMs });
    await scheduler.ready;
    process.stdout.write(
      `${name}: ${count} schedules synced in ${Math.round(performance.now() - syncStarted)} ms\n`,
    );
    for (const [index, slot] of slots.entries()) {
      // Lookahead writes a slot's jobs from 5 s before it; start watching just before that.
      await sleep(Math.max(0, slot - 6_000 - Date.now()));
      const target = (index + 1) * count;
      let allVisibleAt = Number.NaN;
      while (Date.now() < slot + 30_000) {
        if ((await queuedCount(store)) >= target) {
          allVisibleAt = Date.now();
          break;
        }
        // Each count is a GROUP BY over the jobs table: polled gently so the measuring does not starve
        // the scheduler it measures (same process); the figure is then up to 100 ms pessimistic.
        await sleep(100);
      }
      const lags: number[] = [];
      let early = 0;
      let lastWritten = Number.NEGATIVE_INFINITY;
      let cursor: string | undefined;
      for (;;) {
        const page = await store.jobList({
          queue: QUEUE,
          limit: 1000,
          ...(cursor !== undefined && { cursor }),
        });
        for (const job of page.jobs) {
          if (job.scheduleSlot?.getTime() !== slot) continue;
          const written = job.createdAt.getTime();
          if (written < slot) early++;
          lastWritten = Math.max(lastWritten, written - slot);
          lags.push(Math.max(0, Math.max(written, job.runAt.getTime()) - slot));
        }
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      lags.sort((a, b) => a - b);
      process.stdout.write(
        `${name}: slot ${new Date(slot).toISOString()}: ${lags.length}/${count} jobs; run lag p50 ${percentile(lags, 50)} ms, ` +
          `p95 ${percentile(lags, 95)} ms, p99 ${percentile(lags, 99)} ms, max ${lags[lags.length - 1] ?? Number.NaN} ms; ` +
          `${early} written before the slot, last insert began at ${lastWritten} ms, all visible at ${allVisibleAt - slot} ms\n`,
      );
    }
  } finally {
    await ns.close();
    await store.close();
    await cleanup();
  }
}

const backends = flag('backends', 'sqlite,postgres').split(',');
const count = Number(flag('count', '10000'));
const minutes = Number(flag('minutes', '1'));
const lookaheadMs = Number(flag('lookahead', '5000'));
process.stdout.write(`lookahead ${lookaheadMs} ms, ${os.loadavg()[0]?.toFixed(1)} load average at start\n`);
for (const name of backends) await benchOne(name, count, minutes, lookaheadMs);
