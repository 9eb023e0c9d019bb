/**
 * Worker processes under signals and deadlines, on both backends:
 * - RELIABILITY 7: SIGTERM with short jobs running: nothing starts after the signal, every started job
 *   completes, the process exits 0, nothing is left running, the rest waits in the queue untouched.
 * - RELIABILITY 5: a dead worker (kill -9) and a live handler past its timeout are told apart in the
 *   run history (`lease_lapsed` versus `timeout`), and the live one sees its AbortSignal promptly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startChild, type Child } from '../support/child-process.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, longJobEnv } from './backends.js';

const env = longJobEnv();
const WORKER = new URL('./fixtures/worker.ts', import.meta.url);

interface Entry {
  event: 'start' | 'aborted' | 'signal';
  jobId?: string;
  attempt?: number;
  at?: number;
  afterMs?: number;
  reason?: string;
}

function ledgerAt(): { path: string; read(): Entry[] } {
  const path = join(tempSqliteFile().path, '..', 'ledger.jsonl');
  return {
    path,
    read: () =>
      existsSync(path)
        ? readFileSync(path, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Entry)
        : [],
  };
}

function worker(args: string[]): Child & { exit: Promise<number | null> } {
  const child = startChild(WORKER, args);
  child.done.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.process.on('exit', (code) => resolve(code)));
  return { ...child, exit };
}

// The enqueuing side only needs the task names; the handlers live in the worker processes.
const STUBS = { short: () => null, hang: () => null };

describe.each(BACKENDS)('worker processes on %s', (backend) => {
  it('SIGTERM with short jobs: no start after the signal, in-flight jobs finish, exit 0, nothing running', async () => {
    const db = await env.freshDb(backend);
    const ns = await db.connect({ tasks: STUBS });
    await ns.enqueueMany(Array.from({ length: 40 }, () => ({ task: 'short', payload: { ms: 300 } })));
    const ledger = ledgerAt();
    const child = worker([...db.args, '--ledger', ledger.path, '--concurrency', '4', '--grace-ms', '10000']);
    await waitUntil(() => ledger.read().filter((e) => e.event === 'start').length >= 6, {
      timeoutMs: 30_000,
      message: 'six jobs started',
    });
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);

    const entries = ledger.read();
    const signal = entries.find((e) => e.event === 'signal');
    const starts = entries.filter((e) => e.event === 'start');
    expect(signal).toBeDefined();
    for (const start of starts) expect(start.at ?? Infinity).toBeLessThanOrEqual(signal?.at ?? 0);
    expect(entries.filter((e) => e.event === 'aborted')).toEqual([]);

    const { jobs } = await ns.listJobs({ task: 'short', limit: 100 });
    const started = new Set(starts.map((s) => s.jobId));
    expect(jobs.filter((j) => j.state === 'running')).toEqual([]);
    for (const job of jobs) {
      if (started.has(job.id)) expect(job).toMatchObject({ state: 'completed', attempt: 1 });
      else expect(job).toMatchObject({ state: 'queued', attempt: 0 });
    }
    expect(started.size).toBe(starts.length);
    expect(jobs.filter((j) => j.state === 'completed')).toHaveLength(started.size);
  }, 60_000);

  it('tells a dead worker (lease_lapsed) from a live handler past its timeout (timeout)', async () => {
    const db = await env.freshDb(backend);
    const ns = await db.connect({ tasks: STUBS });
    const { id } = await ns.enqueue('hang', null, { maxAttempts: 3, timeoutMs: 1_500 });
    const ledger = ledgerAt();
    const args = [...db.args, '--ledger', ledger.path, '--lease-ms', '1000'];
    const a = worker(args);
    await waitUntil(() => ledger.read().some((e) => e.event === 'start' && e.attempt === 1), {
      timeoutMs: 30_000,
      message: 'attempt 1 started',
    });
    a.process.kill('SIGKILL');
    expect(await a.exit).toBe(null);

    const b = worker(args);
    const job = await ns.waitFor(id, { timeoutMs: 40_000 });
    expect(job.state).toBe('failed');
    expect(job.error?.reason).toBe('timeout');
    const runs = await ns.getJobRuns(id);
    expect(runs.map((r) => r.outcome)).toEqual(['lease_lapsed', 'timeout', 'timeout']);
    expect(runs[0]?.error?.reason).toBe('lease_lapsed');
    // The live handler saw its signal abort with the timeout reason, soon after its 1.5 s limit.
    const aborts = ledger.read().filter((e) => e.event === 'aborted');
    expect(aborts.map((e) => [e.attempt, e.reason])).toEqual([
      [2, 'JobTimeoutError'],
      [3, 'JobTimeoutError'],
    ]);
    for (const abort of aborts) expect(abort.afterMs ?? Infinity).toBeLessThan(1_500 + 1_000);
    await waitUntil(() => b.lines.includes('working'), { timeoutMs: 10_000 });
    b.process.kill('SIGTERM');
    expect(await b.exit).toBe(0);
  }, 90_000);
});
