/**
 * Group commit of concurrent `ns.enqueue` and `ns.enqueueMany` calls (src/enqueue-batcher.ts): a burst
 * through a small pool (the PostgreSQL harness opens 4 connections) never meets a pool timeout, every
 * call gets its own jobs back, idempotency keys and per-call errors keep their meaning inside a batch
 * (a bulk call is written all or none), and the bounds refuse with `overloaded` having written nothing.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NightshiftError } from '../../src/errors.js';
import type { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { expectCode } from '../support/expect-code.js';
import { newJob } from '../support/jobs.js';
import { BACKEND, engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();

const tasks = {
  echo: defineTask({ schema: z.object({ n: z.number().int() }), handler: () => null }),
};

async function storedCount(ns: Nightshift): Promise<number> {
  const counts = await ns.store.jobCountByQueue();
  return counts.reduce((sum, row) => sum + row.count, 0);
}

/**
 * Makes the database itself refuse any job whose payload contains `text` (a trigger), as it would a
 * row no validation foresaw.
 */
async function refuseJobsWithPayloadText(ns: Nightshift, text: string): Promise<void> {
  const address = ns.store.peerAddress?.();
  if (!address) throw new Error('the test store has no address');
  if (BACKEND === 'postgres') {
    const { withAdmin } = await import('../support/postgres-harness.js');
    const s = `"${address.schema ?? 'nightshift'}"`;
    await withAdmin(async (client) => {
      await client.query(`CREATE FUNCTION ${s}.refuse_payload() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$`);
      await client.query(`CREATE TRIGGER refuse_payload BEFORE INSERT ON ${s}.jobs FOR EACH ROW
        WHEN (NEW.payload::text LIKE '%${text}%') EXECUTE FUNCTION ${s}.refuse_payload()`);
    });
    return;
  }
  const db = new Database(address.url.slice('sqlite:'.length));
  db.exec(`CREATE TRIGGER refuse_payload BEFORE INSERT ON jobs WHEN NEW.payload LIKE '%${text}%'
    BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
  db.close();
}

/**
 * Lets the batcher's pending flush run, so the calls before it form a batch of their own: the flush
 * was queued behind the first of these turns, and runs before the second.
 */
async function nextTurn(): Promise<void> {
  for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('concurrent enqueue (group commit)', () => {
  it('stores 2,000 concurrent single enqueues once each and hands every caller its own job', async () => {
    const ns = await env.connect({ tasks });
    const results = await Promise.all(Array.from({ length: 2_000 }, (_, n) => ns.enqueue('echo', { n })));
    results.forEach((result, n) => {
      expect(result.created).toBe(true);
      expect(result.job.payload).toEqual({ n });
      expect(result.id).toBe(result.job.id);
    });
    expect(new Set(results.map((r) => r.id)).size).toBe(2_000);
    expect(await storedCount(ns)).toBe(2_000);
    // Read back: each id names the payload its caller enqueued.
    for (const n of [0, 1, 999, 1_999]) {
      expect((await ns.getJob((results[n] as (typeof results)[number]).id))?.payload).toEqual({ n });
    }
  });

  it('gives one job to calls repeating an idempotency key within one batch', async () => {
    const ns = await env.connect({ tasks });
    const calls = Array.from({ length: 60 }, (_, n) =>
      ns.enqueue('echo', { n }, { idempotencyKey: n % 3 === 0 ? 'same' : `own-${n}` }),
    );
    const results = await Promise.all(calls);
    const same = results.filter((_, n) => n % 3 === 0);
    expect(same.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(same.map((r) => r.id)).size).toBe(1);
    // Every caller of the key sees the one job, with the payload of the call that created it.
    const winner = same.find((r) => r.created);
    for (const r of same) expect(r.job.payload).toEqual(winner?.job.payload);
    expect(results.filter((_, n) => n % 3 !== 0).every((r) => r.created)).toBe(true);
    expect(await storedCount(ns)).toBe(41);
  });

  it('fails only the invalid call of a batch', async () => {
    const ns = await env.connect({ tasks });
    const calls = Array.from({ length: 50 }, (_, n) =>
      n === 17 ? ns.untyped.enqueue('echo', { n: 'seventeen' }) : ns.enqueue('echo', { n }),
    );
    const settled = await Promise.allSettled(calls);
    const refused = settled[17];
    expect(refused?.status).toBe('rejected');
    expect(((refused as PromiseRejectedResult).reason as NightshiftError).code).toBe('invalid_payload');
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(49);
    expect(await storedCount(ns)).toBe(49);
  });

  it('fails only the call whose row the database refuses, writing the rest of its batch', async () => {
    const ns = await env.connect({ tasks: { any: () => null } });
    await refuseJobsWithPayloadText(ns, 'poison');
    const calls = Array.from({ length: 30 }, (_, n) =>
      ns.enqueue('any', n === 9 ? { text: 'poison' } : { n }),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled[9]?.status).toBe('rejected');
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(29);
    settled.forEach((s, n) => {
      if (n !== 9)
        expect((s as PromiseFulfilledResult<{ job: { payload: unknown } }>).value.job.payload).toEqual({ n });
    });
    expect(await storedCount(ns)).toBe(29);
  });

  it('writes concurrent enqueueMany calls together, each with its own jobs in order', async () => {
    const ns = await env.connect({ tasks });
    const statements: number[] = [];
    const insert = ns.store.jobInsertMany.bind(ns.store);
    ns.store.jobInsertMany = (params) => {
      statements.push(params.jobs.length);
      return insert(params);
    };
    const calls = Array.from({ length: 20 }, (_, call) =>
      ns.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ task: 'echo', payload: { n: call * 100 + i } })),
      ),
    );
    const results = await Promise.all(calls);
    results.forEach((jobs, call) => {
      expect(jobs.map((r) => r.job.payload)).toEqual(
        Array.from({ length: 20 }, (_, i) => ({ n: call * 100 + i })),
      );
      expect(jobs.every((r) => r.created)).toBe(true);
    });
    // 400 rows made at once fit one statement (up to 500 rows each); before, a statement per call.
    expect(statements).toEqual([400]);
    expect(await storedCount(ns)).toBe(400);
    // A call bigger than a batch is written whole, alone.
    const big = await ns.enqueueMany(
      Array.from({ length: 700 }, (_, n) => ({ task: 'echo', payload: { n } })),
    );
    expect(big.map((r) => r.job.payload)).toEqual(Array.from({ length: 700 }, (_, n) => ({ n })));
    expect(statements).toEqual([400, 700]);
  });

  it('fails a whole enqueueMany call whose row the database refuses, and only that call', async () => {
    const ns = await env.connect({ tasks: { any: () => null } });
    await refuseJobsWithPayloadText(ns, 'poison');
    const calls = Array.from({ length: 5 }, (_, call) =>
      ns.enqueueMany(
        Array.from({ length: 10 }, (_, i) => ({
          task: 'any',
          payload: call === 2 && i === 7 ? { text: 'poison' } : { call, i },
        })),
      ),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    // All or none: none of the refused call's nine other jobs was written.
    expect(await storedCount(ns)).toBe(40);
  });

  it('refuses calls past maxPending with overloaded, writing none of them', async () => {
    const ns = await env.connect({ tasks, enqueue: { maxPending: 5 } });
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, n) => ns.enqueue('echo', { n })));
    const refused = settled.filter((s) => s.status === 'rejected');
    expect(refused).toHaveLength(7);
    for (const r of refused) expect((r.reason as NightshiftError).code).toBe('overloaded');
    expect(await storedCount(ns)).toBe(5);
  });

  it('refuses a call that waited maxWaitMs for the database, and writes it never', async () => {
    const ns = await env.connect({ tasks, enqueue: { maxWaitMs: 300 } });
    const peer = await env.peerStore(ns);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // Another connection inserts the key and keeps its transaction open: inserts of that key wait for
    // it (SQLite: every write waits for its lock).
    const blocker = peer.transaction(async (tx) => {
      await peer.jobInsertMany({ jobs: [newJob({ task: 'echo', idempotencyKey: 'held' })], tx });
      holding();
      await released;
    });
    await held;
    // Two batches (the most in flight) wait on the lock; the third call waits its turn, then gives up.
    const first = ns.enqueue('echo', { n: 1 }, { idempotencyKey: 'held' });
    await nextTurn();
    const second = ns.enqueue('echo', { n: 2 }, { idempotencyKey: 'held' });
    await nextTurn();
    await expectCode(ns.enqueue('echo', { n: 3 }), 'overloaded', /maxWaitMs/);
    release();
    await blocker;
    expect((await first).created).toBe(false);
    expect((await second).created).toBe(false);
    expect(await storedCount(ns)).toBe(1);
  });

  it('refuses a call that reaches the batcher once close has drained it, writing nothing', async () => {
    // A payload schema that answers later: the call passes the open check, then close runs meanwhile.
    const later: StandardSchemaV1<unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => new Promise((resolve) => setTimeout(() => resolve({ value }), 50)),
      },
    };
    const ns = await env.connect({ tasks: { later: defineTask({ schema: later, handler: () => null }) } });
    const call = ns.enqueue('later', { n: 1 });
    await ns.close();
    await expectCode(call, 'invalid_argument', /^this Nightshift instance is closed; nothing was written$/);
    // The store is the harness's, still open: the call was not written after close returned.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await storedCount(ns)).toBe(0);
  });

  it('refuses invalid bounds on connect', async () => {
    await expectCode(
      env.connect({ tasks, enqueue: { maxWaitMs: 0 } }),
      'invalid_argument',
      /enqueue.maxWaitMs/,
    );
    await expectCode(
      env.connect({ tasks, enqueue: { maxPending: 1.5 } }),
      'invalid_argument',
      /enqueue.maxPending/,
    );
    await expectCode(
      env.connect({ tasks, enqueue: { maxWait: 5 } as never }),
      'invalid_argument',
      /unknown key "maxWait"/,
    );
  });
});
