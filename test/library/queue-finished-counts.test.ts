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

/** The count a read answers (-1: none) and how old it said it was. */
async function readAged(
  counts: FinishedCounts,
  store: { answer: () => Promise<void> },
): Promise<{ count: number; ageMs: number }> {
  const reading = counts.read();
  await store.answer();
  const { finishedCounts, finishedCountsAgeMs } = await reading;
  return { count: finishedCounts[0]?.count ?? -1, ageMs: finishedCountsAgeMs };
}

async function read(counts: FinishedCounts, store: { answer: () => Promise<void> }): Promise<number> {
  return (await readAged(counts, store)).count;
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
    expect(await readAged(counts, store)).toEqual({ count: 1, ageMs: 0 });
    store.clock.now += 250.7;
    // A reused count says how long ago it was read, whole ms.
    expect(await readAged(counts, store)).toEqual({ count: 1, ageMs: 250 });
    store.clock.now += 100 * REUSE_FACTOR - 251.7;
    expect(await readAged(counts, store)).toEqual({ count: 1, ageMs: 100 * REUSE_FACTOR - 1 });
    expect(store.reads()).toBe(1);
    store.clock.now += 1;
    expect(await readAged(counts, store)).toEqual({ count: 2, ageMs: 0 });
  });

  it('shares one read among the calls made while it runs', async () => {
    const store = countingStore(() => 1);
    const counts = new FinishedCounts(store.count, () => store.clock.now);
    const both = Promise.all([counts.read(), counts.read()]);
    await store.answer();
    expect((await both).map((read) => read.finishedCounts[0]?.count)).toEqual([1, 1]);
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
    await expect(counts.read()).resolves.toEqual({ finishedCounts: [], finishedCountsAgeMs: 0 });
    expect(reads).toBe(2);
  });
});
