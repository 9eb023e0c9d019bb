/**
 * A second process on a test's SQLite file, started by `startChild` (child-process.ts). Modes:
 *   claim <file> <workerId>   drain the database: claim and complete until nothing is left; prints
 *                             one JSON line per claimed job id
 *   insert <file> <count>     insert <count> jobs one batch each (a CLI enqueueing beside a worker)
 *   migrate <file>            migrate the database, print the result as JSON
 *   lock <file> <ms>          hold the write lock for <ms>, printing "locked" once it is held and
 *                             "released <t>" after, with t the clock just before COMMIT
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newJob } from './jobs.js';

const [mode, file, arg] = process.argv.slice(2);
if (!mode || !file) throw new Error('usage: sqlite-child <mode> <file> [arg]');

// A start gate, so several children really race instead of starting one Node boot apart: with
// GATE set, print "waiting" and start once that file exists.
const gate = process.env['GATE'];
if (gate) {
  process.stdout.write('waiting\n');
  while (!existsSync(gate)) await sleep(2);
}

if (mode === 'lock') {
  const db = new Database(file);
  db.exec('BEGIN IMMEDIATE');
  process.stdout.write('locked\n');
  setTimeout(() => {
    const releasedAt = Date.now();
    db.exec('COMMIT');
    db.close();
    process.stdout.write(`released ${releasedAt}\n`);
  }, Number(arg));
} else {
  const store = await SqliteStore.open({ filename: file });
  if (mode === 'migrate') {
    process.stdout.write(`${JSON.stringify(await store.migrate())}\n`);
  } else if (mode === 'insert') {
    for (let i = 0; i < Number(arg); i += 1) await store.jobInsertMany({ jobs: [newJob()] });
  } else if (mode === 'claim') {
    for (;;) {
      const claimed = await store.jobClaim({ workerId: arg ?? 'child', limit: 5, leaseMs: 60_000 });
      if (claimed.length === 0) break;
      for (const job of claimed) process.stdout.write(`${JSON.stringify(job.id)}\n`);
      await store.jobFinishMany({
        finishes: claimed.map((job) => ({
          id: job.id,
          leaseToken: job.leaseToken,
          outcome: 'completed' as const,
        })),
      });
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  await store.close();
}
