/**
 * Contracts across processes, on both backends: a producer that imports only the contracts module
 * enqueues; a worker process with the implementations runs the jobs; a worker deployed with a
 * changed contract refuses the old producer's payload, and says so on the job.
 */
import { describe, expect, it } from 'vitest';
import { startChild, type Child } from '../support/child-process.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, longJobEnv, type TestDb } from '../long-jobs/backends.js';

const env = longJobEnv();
const PRODUCER = new URL('./fixtures/producer.ts', import.meta.url);
const WORKER = new URL('./fixtures/worker.ts', import.meta.url);

async function produce(db: TestDb, orderIds: number[]): Promise<string[]> {
  // INVOICE_ROLE=producer: the handlers module throws if this process ever loads it.
  const lines = await startChild(PRODUCER, [...db.args, ...orderIds.map(String)], {
    env: { INVOICE_ROLE: 'producer' },
  }).done;
  return lines.filter((line) => line !== '');
}

async function startWorker(db: TestDb, env: Record<string, string> = {}): Promise<Child> {
  const child = startChild(WORKER, db.args, { stdin: true, env: { INVOICE_ROLE: 'worker', ...env } });
  await waitUntil(() => child.lines.includes('ready') || child.process.exitCode !== null, {
    timeoutMs: 20_000,
  });
  expect(child.lines, child.stderr()).toContain('ready');
  return child;
}

async function stopWorker(child: Child): Promise<void> {
  child.process.stdin?.end();
  expect(await child.exited, child.stderr()).toBe(0);
}

describe.each(BACKENDS)('contracts across processes on %s', (backend) => {
  it('a contracts-only producer enqueues, a worker runs the jobs, a changed contract is reported on the job', async () => {
    const db = await env.freshDb(backend);
    const ns = (await db.connect()).untyped;

    const ids = await produce(db, [1, 2, 3]);
    expect(ids).toHaveLength(3);
    const worker = await startWorker(db);
    for (const id of ids) {
      expect(await ns.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({
        task: 'invoice.send',
        state: 'completed',
        result: { sent: true, copies: 1 },
      });
    }
    await stopWorker(worker);

    // The next deploy's worker expects a currency the old producer does not send.
    const upgraded = await startWorker(db, { INVOICE_CONTRACT_VERSION: '2' });
    const [stale] = await produce(db, [4]);
    const failed = await ns.waitFor(stale ?? '', { timeoutMs: 20_000 });
    await stopWorker(upgraded);
    expect(failed).toMatchObject({
      state: 'failed',
      attempt: 2,
      error: { code: 'invalid_payload', reason: 'failed' },
    });
    expect(failed.error?.message).toMatch(
      /payload does not match this worker's contract of task "invoice.send": currency/,
    );
    expect((await ns.getJobRuns(stale ?? '')).map((run) => run.outcome)).toEqual(['failed', 'failed']);
    // Four Node processes with a TypeScript loader each: tens of seconds on a loaded 2-core machine.
  }, 120_000);
});
