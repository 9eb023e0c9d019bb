/**
 * SQLite with several processes on one file: a worker and a CLI at once, racing migrations, and a
 * write lock held by another process (RELIABILITY scenarios 13, 23 and 27, in small).
 */
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { NightshiftError } from '../src/errors.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { startChild } from './support/child-process.js';
import { newJob } from './support/jobs.js';
import { tempSqliteFile, type TempSqliteFile } from './support/temp-sqlite.js';
import { waitUntil } from './support/wait-until.js';

const CHILD = new URL('./support/sqlite-child.ts', import.meta.url);

let file: TempSqliteFile;
const stores: SqliteStore[] = [];

async function openStore(options: { busyRetryMs?: number } = {}): Promise<SqliteStore> {
  const store = await SqliteStore.open({ filename: file.path, ...options });
  stores.push(store);
  return store;
}

describe('SqliteStore across processes', () => {
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    file.remove();
  });

  it('lets three processes and this one drain one file without claiming any job twice or meeting SQLITE_BUSY', async () => {
    file = tempSqliteFile();
    const store = await openStore();
    await store.migrate();
    const total = 400;
    await store.jobInsertMany({ jobs: Array.from({ length: total }, () => newJob()) });
    // Four processes on one file (RELIABILITY scenario 27); a child that met SQLITE_BUSY would exit 1.
    // All start at once behind a gate, and a CLI process enqueues while they claim.
    const gate = `${file.path}.go`;
    const children = ['child-1', 'child-2', 'child-3'].map((id) =>
      startChild(CHILD, ['claim', file.path, id], { env: { GATE: gate } }),
    );
    const cli = startChild(CHILD, ['insert', file.path, '40'], { env: { GATE: gate } });
    await waitUntil(() => [...children, cli].every((c) => c.lines.includes('waiting')), {
      timeoutMs: 20_000,
    });
    writeFileSync(gate, '');
    const local: string[] = [];
    const drain = async () => {
      for (;;) {
        const claimed = await store.jobClaim({ workerId: 'parent', limit: 5, leaseMs: 60_000 });
        if (claimed.length === 0) return;
        local.push(...claimed.map((job) => job.id));
        await store.jobFinishMany({
          finishes: claimed.map((job) => ({
            id: job.id,
            leaseToken: job.leaseToken,
            outcome: 'completed' as const,
          })),
        });
      }
    };
    await drain();
    await cli.done;
    // The children may have run dry before the CLI's last jobs landed: sweep up after it.
    await drain();
    const fromChildren = (await Promise.all(children.map((c) => c.done)))
      .flat()
      .filter((line) => line !== 'waiting')
      .map((line) => JSON.parse(line) as string);
    const all = [...local, ...fromChildren];
    expect(all).toHaveLength(total + 40);
    expect(new Set(all).size).toBe(total + 40);
    const counts = await store.jobCountByQueue();
    expect(counts).toEqual([{ queue: 'default', state: 'completed', count: total + 40 }]);
    const runs = await Promise.all(all.slice(0, 20).map((id) => store.jobRunList({ jobId: id })));
    expect(runs.every((r) => r.length === 1 && r[0]?.outcome === 'completed')).toBe(true);
  });

  it('applies each migration once when four processes migrate an empty file at once', async () => {
    file = tempSqliteFile();
    const gate = `${file.path}.go`;
    const children = Array.from({ length: 4 }, () =>
      startChild(CHILD, ['migrate', file.path], { env: { GATE: gate } }),
    );
    await waitUntil(() => children.every((c) => c.lines.includes('waiting')), { timeoutMs: 20_000 });
    writeFileSync(gate, '');
    const results = (await Promise.all(children.map((c) => c.done))).map(
      (lines) => JSON.parse(lines.at(-1) ?? 'null') as { from: number; to: number },
    );
    const store = await openStore();
    const { latest } = await store.schemaVersion();
    expect(results.every((r) => r.to === latest)).toBe(true);
    expect(await store.schemaVersion()).toEqual({ current: latest, latest });
    const applied = store.database.prepare('SELECT version FROM nightshift_schema ORDER BY version').all();
    expect(applied).toEqual(Array.from({ length: latest }, (_, i) => ({ version: i + 1 })));
  });

  it('survives a write lock held for 5 s by another process, without blocking the event loop', async () => {
    file = tempSqliteFile();
    const store = await openStore();
    await store.migrate();
    const holder = startChild(CHILD, ['lock', file.path, '5000']);
    await waitUntil(() => holder.lines.includes('locked'), { message: 'child never took the lock' });

    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 50);
    const job = newJob();
    const insert = store.jobInsertMany({ jobs: [job] });
    const claim = store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 30_000 });
    // While the other process holds the lock the writes wait, and timers (lease renewal) keep firing.
    await waitUntil(() => ticks >= 5, { message: 'event loop starved while waiting for the lock' });
    const [result] = await insert;
    const claimed = await claim;
    clearInterval(ticker);
    const lines = await holder.done;
    const releasedAt = Number(lines.find((line) => line.startsWith('released '))?.slice('released '.length));
    expect(result?.created).toBe(true);
    // Causal, not a timing guess: the store read its clock only after taking the lock, which the
    // other process gave up after reading its clock.
    expect(result?.job.createdAt.getTime()).toBeGreaterThanOrEqual(releasedAt);
    // The claim may have taken the lock before or after the insert; either way the job is stored once.
    const stored = await store.jobGet({ id: job.id });
    expect(stored?.state).toBe(claimed.length === 1 ? 'running' : 'queued');
    expect(await store.jobCountByQueue()).toEqual([{ queue: 'default', state: stored?.state, count: 1 }]);
  });

  it('fails with database_unavailable once the retry bound passes, and writes nothing', async () => {
    file = tempSqliteFile();
    const store = await openStore({ busyRetryMs: 300 });
    await store.migrate();
    const other = new Database(file.path);
    other.exec('BEGIN IMMEDIATE');
    const job = newJob();
    const error: unknown = await store.jobInsertMany({ jobs: [job] }).catch((e: unknown) => e);
    other.exec('COMMIT');
    other.close();
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as NightshiftError).code).toBe('database_unavailable');
    expect(await store.jobGet({ id: job.id })).toBeUndefined();
    // The store recovers as soon as the lock is gone.
    expect((await store.jobInsertMany({ jobs: [job] }))[0]?.created).toBe(true);
  });
});
