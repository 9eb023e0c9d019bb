/**
 * SQLite across processes: a worker in another process hears of a new job through the wake file
 * (src/store/sqlite/wake-file.ts), not at its next poll, and still finds jobs by polling when the
 * wake file cannot be used; a process's own touches do not wake its own watch (its store told its
 * workers already).
 */
import { mkdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import { WakeFile } from '../src/store/sqlite/wake-file.js';
import { startChild, type Child } from './support/child-process.js';
import { tempSqliteFile, type TempSqliteFile } from './support/temp-sqlite.js';
import { waitUntil } from './support/wait-until.js';

const WORKER = new URL('./support/sqlite-worker-child.ts', import.meta.url);

let file: TempSqliteFile;
let producer: Nightshift | undefined;
let worker: Child | undefined;

async function start(pollIntervalMs: number): Promise<{ ns: Nightshift; child: Child }> {
  file = tempSqliteFile();
  const ns = await Nightshift.connect({
    db: `sqlite:${file.path}`,
    logger: createLogger({ level: 'silent' }),
    tasks: { 'wake.probe': () => null },
  });
  producer = ns;
  const child = startChild(WORKER, [file.path, String(pollIntervalMs)], { stdin: true });
  worker = child;
  await waitUntil(() => child.lines.includes('ready'), { timeoutMs: 20_000, message: child.stderr() });
  return { ns, child };
}

/** Enqueues one job and resolves with the ms from just before the call to its start in the child. */
async function enqueueToStart(ns: Nightshift, child: Child, timeoutMs: number): Promise<number> {
  const enqueuedAt = Date.now();
  const { id } = await ns.enqueue('wake.probe', null);
  const line = await waitUntil(() => child.lines.find((l) => l.startsWith(`started ${id} `)), {
    timeoutMs,
    message: () => `job ${id} did not start: ${child.stderr()}`,
  });
  return Number(line.split(' ')[2]) - enqueuedAt;
}

describe('SQLite wake-up across processes', () => {
  afterEach(async () => {
    worker?.process.stdin?.end();
    await worker?.exited;
    await producer?.close();
    worker = undefined;
    producer = undefined;
    file.remove();
  });

  it('starts a job enqueued by another process long before the worker would poll', async () => {
    const { ns, child } = await start(5_000);
    const delays: number[] = [];
    // Each job after the first lands while the worker sleeps out its 5 s poll, having run the one before.
    for (let round = 0; round < 6; round += 1) delays.push(await enqueueToStart(ns, child, 4_000));
    delays.sort((a, b) => a - b);
    expect(delays.at(-1)).toBeLessThan(300);
    console.log(`enqueue-to-start across processes, ms (sorted): ${delays.join(' ')}`);
  });

  it('still finds jobs by polling when the wake file cannot be created', async () => {
    const dir = tempSqliteFile();
    // A directory where the wake file would be: neither process can open, touch or watch it.
    file = dir;
    mkdirSync(`${dir.path}-wake`);
    const ns = await Nightshift.connect({
      db: `sqlite:${dir.path}`,
      logger: createLogger({ level: 'silent' }),
      tasks: { 'wake.probe': () => null },
    });
    producer = ns;
    const child = startChild(WORKER, [dir.path, '300'], { stdin: true });
    worker = child;
    await waitUntil(() => child.lines.includes('ready'), { timeoutMs: 20_000, message: child.stderr() });
    for (let round = 0; round < 3; round += 1) await enqueueToStart(ns, child, 10_000);
    expect(child.lines.filter((l) => l.startsWith('started '))).toHaveLength(3);
  });

  it("wakes a watch for another process's touch, not for its own", async () => {
    file = tempSqliteFile();
    // Two wake files on one database stand for two processes: each has its own tag.
    const here = new WakeFile(`${file.path}-wake`);
    const there = new WakeFile(`${file.path}-wake`);
    let wakes = 0;
    here.watch(() => {
      wakes += 1;
    });
    try {
      for (let n = 0; n < 3; n += 1) {
        here.touch();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(wakes).toBe(0);
      there.touch();
      await waitUntil(() => wakes === 1, { timeoutMs: 2_000, message: 'the other touch woke nothing' });
      here.touch();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(wakes).toBe(1);
    } finally {
      here.close();
      there.close();
    }
  });
});
