/**
 * The lease table shared by a worker and its lease-keeper thread (src/worker/lease-table.ts), and the
 * keeper that reads it (lease-keeper.ts): what the main thread writes is what the thread renews, with
 * no message per lease, even while the main event loop is blocked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { Nightshift } from '../../src/nightshift.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { Worker as Thread } from 'node:worker_threads';
import { withAcceptedOptions, withoutPreloads } from '../../src/runtime/module-thread.js';
import { LeaseKeeper } from '../../src/worker/lease-keeper.js';
import { LeaseTable, renewIntervalMs } from '../../src/worker/lease-table.js';
import { blockEventLoop } from '../support/block-event-loop.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv } from './engine-harness.js';

const env = engineEnv();

describe('lease table', () => {
  it('publishes a slot to another view of the same buffer, and frees it', () => {
    const writer = LeaseTable.create(2, 8);
    const reader = new LeaseTable(writer.buffer);
    expect(reader.read(1)).toBeNull();
    writer.hold(1, 'jöb-1', 'tök€n', 300, 1_000);
    const lease = reader.read(1);
    expect(lease).toMatchObject({ slot: 1, id: 'jöb-1', leaseToken: 'tök€n', leaseMs: 300, deadline: 1_000 });
    expect(lease?.settled).toBe(false);
    writer.settle(1);
    expect(reader.read(1)?.settled).toBe(true);
    writer.free(1);
    expect(reader.read(1)).toBeNull();
    // A new hold of the slot is a new generation: a report about the old one no longer matches.
    writer.hold(1, 'job-2', 'token-2', 300, null);
    expect(reader.read(1)).toMatchObject({ id: 'job-2', deadline: Infinity, settled: false });
    expect(reader.gen(1)).not.toBe(lease?.gen);
  });

  it('copies every slot, generation included, into a larger and wider table', () => {
    const small = LeaseTable.create(2, 4);
    small.hold(0, 'a', 'bcd', 100, null);
    small.hold(1, 'efgh', 'i', 200, 5);
    small.free(0);
    const large = LeaseTable.create(4, 40);
    small.copyTo(large);
    expect(large.read(0)).toBeNull();
    expect(large.gen(0)).toBe(small.gen(0));
    expect(large.read(1)).toEqual(small.read(1));
    large.hold(2, 'x'.repeat(40), 'y', 300, null);
    expect(large.read(2)?.id).toBe('x'.repeat(40));
    expect(large.read(1)?.id).toBe('efgh');
  });
});

describe('thread options', () => {
  it('leaves out the preloaded modules and keeps every other option', () => {
    const argv = ['--import', 'tsx', '--max-old-space-size=100', '-r', 'a.cjs', '--require=b.cjs'];
    argv.push('--experimental-loader', 'c.mjs', '--loader=d.mjs', '--import=e.mjs', '--enable-source-maps');
    expect(withoutPreloads(argv)).toEqual(['--max-old-space-size=100', '--enable-source-maps']);
  });

  it('starts a thread without the options Node refuses in a thread, keeping the rest', async () => {
    const tried: string[][] = [];
    const thread = withAcceptedOptions(['--max-old-space-size=100', '--enable-source-maps'], (execArgv) => {
      tried.push(execArgv);
      return new Thread('', { eval: true, execArgv });
    });
    await new Promise((resolve) => thread.once('exit', resolve));
    expect(tried).toEqual([['--max-old-space-size=100', '--enable-source-maps'], ['--enable-source-maps']]);
  });

  it('passes on any other failure to start', () => {
    const failure = new Error('no threads today');
    expect(() =>
      withAcceptedOptions(['--enable-source-maps'], () => {
        throw failure;
      }),
    ).toThrow(failure);
  });
});

describe('lease keeper', () => {
  const keepers: Array<LeaseKeeper<string>> = [];
  afterEach(async () => {
    for (const keeper of keepers.splice(0)) await keeper.stop();
  });

  /** The keeper's renewals extend a lease by a minute: far past anything the claim gave. */
  const RENEWED_MS = 60_000;

  async function setup(jobs: number, capacity: number, leaseMs = RENEWED_MS) {
    const ns = await env.connect({ tasks: { t: () => undefined } });
    for (let n = 0; n < jobs; n += 1) await ns.enqueue('t');
    // One claim per job, so every job has a token of its own (on PostgreSQL a claim's jobs share one).
    const claimed: ClaimedJob[] = [];
    for (let n = 0; n < jobs; n += 1) {
      claimed.push(...(await ns.store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 300 })));
    }
    expect(claimed).toHaveLength(jobs);
    const address = ns.store.peerAddress?.();
    if (!address) throw new Error('the test store cannot be opened by another thread');
    const lost: string[] = [];
    const keeper = new LeaseKeeper<string>(
      { ...address, leaseMs },
      capacity,
      { onLost: (owner) => lost.push(owner), onCancel: () => undefined },
      createLogger({ level: 'silent' }),
    );
    keepers.push(keeper);
    expect(await keeper.ready).toBe(true);
    // Time for the thread to plan its first wait, for one-minute leases: a short lease must wake it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { ns, claimed: claimed as [ClaimedJob, ...ClaimedJob[]], keeper, lost };
  }

  async function expiresInMs(ns: Nightshift, id: string): Promise<number> {
    const job = await ns.getJob(id);
    return (job?.leaseExpiresAt?.getTime() ?? 0) - Date.now();
  }

  it('renews a lease held just before the event loop blocks, woken for a lease shorter than planned', async () => {
    const { ns, claimed, keeper, lost } = await setup(1, 4);
    const [job] = claimed;
    // 300 ms leases want renewal every 100 ms; the keeper planned for one-minute leases, every 20 s.
    keeper.hold('a', job, 300, null);
    const blockedAt = Date.now();
    // Woken, the thread first opens its store, and how long loading the driver takes depends on the
    // machine's load (and here on compiling the sources), not on any lease: over a second with two
    // busy cores. Left asleep, it would renew no sooner than its planned interval. So the loop stays
    // blocked until the first renewal is answered, for at most half that interval.
    const renewedInTime = blockEventLoop(
      renewIntervalMs(RENEWED_MS) / 2,
      () => keeper.lastRenewal().sentAt > 0,
    );
    expect(renewedInTime, 'renewed while the event loop was blocked').toBe(true);
    const job1 = await ns.getJob(job.id);
    expect(job1?.leaseExpiresAt?.getTime()).toBeGreaterThan(blockedAt + RENEWED_MS / 2);
    expect(lost).toEqual([]);
  });

  it('names a lost lease by job id and token: the same token on another job is lost, once', async () => {
    // Capacity 1: the second hold grows the table, the third widens it (a 40-character id).
    const { ns, claimed, keeper, lost } = await setup(2, 1);
    const [first, second] = claimed as [ClaimedJob, ClaimedJob];
    keeper.hold('first', first, 300, null);
    keeper.hold('second with the first token', { id: second.id, leaseToken: first.leaseToken }, 300, null);
    keeper.hold('not a job', { id: 'x'.repeat(40), leaseToken: first.leaseToken }, 300, null);
    keeper.release(keeper.hold('released at once', { id: second.id, leaseToken: 'wrong' }, 300, null));
    blockEventLoop(1_000);
    await waitUntil(() => lost.length >= 2, { message: 'both wrong pairs reported lost' });
    expect(lost.sort()).toEqual(['not a job', 'second with the first token']);
    expect(await expiresInMs(ns, first.id)).toBeGreaterThan(RENEWED_MS / 2);
    expect(await expiresInMs(ns, second.id)).toBeLessThan(RENEWED_MS / 2);
    // A lost lease is not renewed again, so it is not reported again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(lost).toHaveLength(2);
  });

  it('opens its store shortly before its first renewal is due, not at start', async () => {
    // One-minute leases are renewed every 20 s: the store is opened 2 s before that.
    const { ns, claimed, keeper } = await setup(2, 4);
    const [job, short] = claimed as [ClaimedJob, ClaimedJob];
    keeper.hold('a', job, RENEWED_MS, null);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(keeper.storeOpened).toBe(false);
    // A 300 ms lease is due for renewal at once: the store opens, and both leases are renewed.
    keeper.hold('short', short, 300, null);
    await waitUntil(() => keeper.storeOpened, { message: 'store opened' });
    await waitUntil(async () => (await expiresInMs(ns, short.id)) > RENEWED_MS / 2, {
      message: 'short lease renewed',
    });
    expect(await expiresInMs(ns, job.id)).toBeGreaterThan(RENEWED_MS / 2);
  });

  /** A keeper started while the worker holds `job`'s lease, claimed or last renewed `ageMs` ago. */
  async function startHolding(ns: Nightshift, job: ClaimedJob, ageMs: number) {
    const address = ns.store.peerAddress?.();
    if (!address) throw new Error('the test store cannot be opened by another thread');
    const keeper = new LeaseKeeper<string>(
      { ...address, leaseMs: RENEWED_MS },
      4,
      { onLost: () => undefined, onCancel: () => undefined },
      createLogger({ level: 'silent' }),
      Date.now() - ageMs,
    );
    keepers.push(keeper);
    // As a worker's first claim starts it: the lease is in the table before the thread runs.
    keeper.hold('a', job, RENEWED_MS, null);
    expect(await keeper.ready).toBe(true);
    return keeper;
  }

  it('leaves a fresh lease held as it starts for one interval, without opening its store', async () => {
    const { ns, claimed } = await setup(1, 1);
    const keeper = await startHolding(ns, claimed[0], 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(keeper.storeOpened).toBe(false);
    expect(await expiresInMs(ns, claimed[0].id)).toBeLessThan(RENEWED_MS / 2);
  });

  it('renews a lease held as it starts one interval after it was last renewed, not an interval after starting', async () => {
    const { ns, claimed } = await setup(1, 1);
    // One-minute leases are renewed every 20 s: this one is due now.
    const keeper = await startHolding(ns, claimed[0], 20_000);
    await waitUntil(async () => (await expiresInMs(ns, claimed[0].id)) > RENEWED_MS / 2, {
      message: 'lease renewed',
    });
    expect(keeper.storeOpened).toBe(true);
  });

  it('opens its store at once when its leases are renewed within seconds', async () => {
    const { keeper } = await setup(0, 1, 3_000);
    expect(keeper.storeOpened).toBe(true);
  });

  it('starts in a process run with V8 options, which a thread refuses', async () => {
    const added = ['--max-old-space-size=4096', '--stack-size=900'];
    process.execArgv.push(...added);
    try {
      const { keeper } = await setup(0, 1);
      expect(keeper.running).toBe(true);
    } finally {
      process.execArgv.splice(process.execArgv.length - added.length, added.length);
    }
  });

  it('stops renewing an unsettled lease past its deadline, and renews a settled one', async () => {
    const { ns, claimed, keeper, lost } = await setup(3, 4);
    const [stuck, settled, released] = claimed as [ClaimedJob, ClaimedJob, ClaimedJob];
    const past = Date.now() - 1;
    keeper.hold('stuck', stuck, 300, past);
    keeper.settled(keeper.hold('settled', settled, 300, past));
    keeper.release(keeper.hold('released', released, 300, null));
    blockEventLoop(1_000);
    await waitUntil(async () => (await expiresInMs(ns, settled.id)) > RENEWED_MS / 2, {
      message: 'settled lease renewed',
    });
    expect(await expiresInMs(ns, stuck.id)).toBeLessThan(0);
    expect(await expiresInMs(ns, released.id)).toBeLessThan(0);
    expect(lost).toEqual([]);
  });
});
