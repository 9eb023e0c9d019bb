/**
 * SQLite checkpoints off the event loop (src/store/sqlite/checkpointer.ts): a store whose connection
 * commits often, or writes many rows in few commits, hands its write-ahead-log checkpoints to a thread of
 * its own, one that commits rarely keeps SQLite's default, a failed thread gives them back, and closing the
 * store ends the thread first so the last close still folds the log into the file and removes it.
 */
import { existsSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Checkpointer } from '../src/store/sqlite/checkpointer.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { captureLogger } from './support/capture-logger.js';
import { newJob } from './support/jobs.js';
import { tempSqliteFile, type TempSqliteFile } from './support/temp-sqlite.js';
import { waitUntil } from './support/wait-until.js';

let file: TempSqliteFile;
let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
  file.remove();
});

async function open(): Promise<{ store: SqliteStore; lines: string[] }> {
  file = tempSqliteFile();
  const { logger, lines } = captureLogger();
  store = await SqliteStore.open({ filename: file.path, logger });
  await store.migrate();
  return { store, lines };
}

function checkpointerOf(opened: SqliteStore): Checkpointer {
  const checkpointer = (opened as unknown as { conn: { checkpointer: Checkpointer | null } }).conn
    .checkpointer;
  if (checkpointer === null) throw new Error('a file database has a checkpointer');
  return checkpointer;
}

/** `count` one-job inserts, each its own transaction, as fast as they go. */
async function commits(opened: SqliteStore, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await opened.jobInsertMany({ jobs: [newJob({ payload: { padding: 'x'.repeat(2_000) } })] });
  }
}

/** Commits in bursts until the thread starts (64 commits within a second, on any machine's speed). */
async function commitUntilThread(opened: SqliteStore): Promise<Checkpointer> {
  const checkpointer = checkpointerOf(opened);
  await waitUntil(
    async () => {
      await commits(opened, 20);
      return checkpointer.running;
    },
    { timeoutMs: 20_000, message: 'no checkpointer thread started' },
  );
  return checkpointer;
}

const autocheckpoint = (opened: SqliteStore): number =>
  opened.database.pragma('wal_autocheckpoint', { simple: true }) as number;

describe('SQLite checkpointer', () => {
  it('keeps checkpoints in the connection while commits are rare', async () => {
    const { store: opened } = await open();
    await commits(opened, 20);
    expect(checkpointerOf(opened).running).toBe(false);
    expect(autocheckpoint(opened)).toBe(1_000);
  });

  it('moves checkpoints to its thread once a few commits write many rows', async () => {
    const { store: opened } = await open();
    // Two bulk enqueues, as a producer's first calls: 2 commits, far from 64, but 1,200 rows.
    for (let call = 0; call < 2; call += 1) {
      await opened.jobInsertMany({ jobs: Array.from({ length: 600 }, () => newJob()) });
    }
    expect(checkpointerOf(opened).running).toBe(true);
    expect(autocheckpoint(opened)).toBe(10_000);
  });

  it('moves checkpoints to its thread once commits come fast, which folds the log into the file', async () => {
    const { store: opened } = await open();
    await commitUntilThread(opened);
    // The connection's own checkpoint waits for 10,000 pages now: only the thread copies ~200 pages
    // of log into the file this soon.
    expect(autocheckpoint(opened)).toBe(10_000);
    const before = statSync(file.path).size;
    await commits(opened, 200);
    await waitUntil(() => statSync(file.path).size > before + 200 * 2_000, {
      timeoutMs: 10_000,
      message: 'the database file did not grow: no checkpoint ran',
    });
    await opened.close();
    store = undefined;
    // The thread closed its connection first, so the store's close was the last one: the log is gone.
    expect(existsSync(`${file.path}-wal`)).toBe(false);
    expect(statSync(file.path).size).toBeGreaterThan(300 * 2_000);
  });

  it('gives checkpoints back to the connection when the thread fails', async () => {
    const { store: opened, lines } = await open();
    const checkpointer = await commitUntilThread(opened);
    await (checkpointer as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    await waitUntil(() => !checkpointer.running, { timeoutMs: 5_000 });
    expect(autocheckpoint(opened)).toBe(1_000);
    expect(lines.some((line) => line.includes('checkpointer thread failed'))).toBe(true);
    // Writes go on, and no thread starts again.
    await commits(opened, 100);
    expect(checkpointer.running).toBe(false);
  });
});
