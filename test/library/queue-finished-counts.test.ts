/**
 * How often the queue list counts the finished history (src/queue-finished-counts.ts): every call while
 * counting is cheap, at most one part in REUSE_FACTOR + 1 of the time once it is not, one read for
 * callers that ask at once, nothing kept from a failed read. The clock and the count are the test's, so
 * each duration is exact; test/conformance/read.ts counts real stores.
 */
import { describe, expect, it } from 'vitest';
import { EXACT_BELOW_MS, FinishedCounts, REUSE_FACTOR } from '../../src/queue-finished-counts.js';
import type { JobCount } from '../../src/store/store.js';

/** A count that takes `takesMs` on the test's clock and answers `completed: n` for its nth read. */
function countingStore(takesMs: () => number) {
  const clock = { now: 1_000 };
  let reads = 0;
  const pending: Array<() => void> = [];
  const count = (): Promise<JobCount[]> =>
    new Promise((resolve) => {
      reads += 1;
      const n = reads;
      pending.push(() => {
        clock.now += takesMs();
        resolve([{ queue: 'q', state: 'completed', count: n }]);
      });
    });
  const answer = async (): Promise<void> => {
    for (const next of pending.splice(0)) next();
    await Promise.resolve();
  };
  return { clock, count, answer, reads: () => reads };
}

async function read(counts: FinishedCounts, store: { answer: () => Promise<void> }): Promise<number> {
  const reading = counts.read();
  await store.answer();
  return (await reading)[0]?.count ?? -1;
}

describe('FinishedCounts', () => {
  it('reads again at every call while a count takes less than EXACT_BELOW_MS', async () => {
    const store = countingStore(() => EXACT_BELOW_MS - 1);
    const counts = new FinishedCounts(store.count, () => store.clock.now);
    expect(await read(counts, store)).toBe(1);
    expect(await read(counts, store)).toBe(2);
    expect(await read(counts, store)).toBe(3);
  });

  it('reuses a slow count for REUSE_FACTOR times its duration, then reads again', async () => {
    const store = countingStore(() => 100);
    const counts = new FinishedCounts(store.count, () => store.clock.now);
    expect(await read(counts, store)).toBe(1);
    store.clock.now += 100 * REUSE_FACTOR - 1;
    expect(await read(counts, store)).toBe(1);
    expect(store.reads()).toBe(1);
    store.clock.now += 1;
    expect(await read(counts, store)).toBe(2);
  });

  it('shares one read among the calls made while it runs', async () => {
    const store = countingStore(() => 1);
    const counts = new FinishedCounts(store.count, () => store.clock.now);
    const both = Promise.all([counts.read(), counts.read()]);
    await store.answer();
    expect((await both).map((rows) => rows[0]?.count)).toEqual([1, 1]);
    expect(store.reads()).toBe(1);
    expect(await read(counts, store)).toBe(2);
  });

  it('keeps nothing from a failed read: the next call reads again', async () => {
    let fail = true;
    let reads = 0;
    const counts = new FinishedCounts(() => {
      reads += 1;
      return fail ? Promise.reject(new Error('database gone')) : Promise.resolve([]);
    });
    await expect(counts.read()).rejects.toThrow('database gone');
    fail = false;
    await expect(counts.read()).resolves.toEqual([]);
    expect(reads).toBe(2);
  });
});
