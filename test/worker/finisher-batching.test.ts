/**
 * Finishes that arrive fast but one by one (handlers ending at 1,000-2,000 a second) wait a little
 * longer for a batch worth a statement; a trickle is written when its window ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { JobFinish, Store } from '../../src/store/store.js';
import { Finisher } from '../../src/worker/finisher.js';
import { quietHealth } from '../support/quiet-health.js';

const FLUSH_MS = 20;

/** A finisher over a store that accepts everything and records each batch's size. */
function recordingFinisher(): { finisher: Finisher<string>; batches: number[] } {
  const batches: number[] = [];
  const store = {
    jobFinishMany: ({ finishes }: { finishes: JobFinish[] }) => {
      batches.push(finishes.length);
      return Promise.resolve({ accepted: finishes.map((finish) => finish.id) });
    },
  } as unknown as Store;
  const { logger, health } = quietHealth();
  const finisher = new Finisher<string>(
    store,
    health,
    logger,
    { accepted: () => undefined, refused: () => undefined, persisted: () => null },
    { batchSize: 500, flushMs: FLUSH_MS },
  );
  return { finisher, batches };
}

const finish = (n: number): JobFinish => ({ id: `job-${n}`, leaseToken: 'token', outcome: 'completed' });

describe('finisher batching of fast, one-by-one finishes', () => {
  it('waits past the window for a batch that the arrival rate will fill, then writes it once', async () => {
    const { finisher, batches } = recordingFinisher();
    // 10 finishes in the first window: 6 more are due within 4 windows at that rate.
    for (let n = 0; n < 10; n += 1) finisher.add(finish(n), `a${n}`);
    await sleep(FLUSH_MS + FLUSH_MS / 5);
    for (let n = 10; n < 16; n += 1) finisher.add(finish(n), `b${n}`);
    await sleep(FLUSH_MS * 5);
    expect(batches).toEqual([16]);
    expect(await finisher.drain(5_000)).toBe(true);
  });

  it('writes a trickle when its window ends', async () => {
    const { finisher, batches } = recordingFinisher();
    finisher.add(finish(0), 'only');
    await sleep(FLUSH_MS * 2);
    expect(batches).toEqual([1]);
    expect(await finisher.drain(5_000)).toBe(true);
  });
});
