/**
 * `ns.followEvents` with a filter catches up through a backlog of other events without waiting for its
 * poll: a page the filter left short (PostgreSQL scans at most a page's worth of log entries per read)
 * is not the head of the log, so the reader reads on at once. Before, it slept `pollMs` (500 ms by
 * default) after every such page: a filtered reader took seconds to reach the events it wanted behind
 * a busy hour, and one reading slower than the cluster wrote never caught up.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FOLLOW_PAGE_SIZE } from '../../src/event-feed.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { freshStore } from '../support/fresh-store.js';
import { waitUntil } from '../support/wait-until.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A reader that waits for its poll never returns within this; one reading on needs milliseconds. */
const STALLED_AFTER_MS = 10_000;

describe.each(['sqlite', 'postgres'] as const)('followEvents with a filter on %s', (backend) => {
  it('reads on through a backlog of other events instead of waiting for its poll', async () => {
    const store = await freshStore(backend, 'follow_filtered', cleanups);
    const ns = await Nightshift.connect({ db: store, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => ns.close());
    const head = await store.eventHead();
    // One log entry per event on both stores: several pages of entries before the one the reader wants.
    const noise = Array.from({ length: FOLLOW_PAGE_SIZE * 2 + 100 }, () => ({
      type: 'queue:paused' as const,
      queue: 'noise',
    }));
    await store.eventAppend({ events: [...noise, { type: 'queue:resumed', queue: 'wanted' }] });
    // On PostgreSQL the events become readable once every older writing transaction of the server ended:
    // another test file's transaction (a stopped worker's, a black-holed connection's) can hold them back
    // for a while on a shared server, so this wait is generous; the reader's own bound is below.
    await waitUntil(
      async () => {
        const page = await ns.readEvents({ after: head, limit: 1000, queue: 'wanted' });
        return page.events.length > 0 || page.more;
      },
      { timeoutMs: 40_000 },
    );

    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    // No wake-up comes (the events were written before the reader started): only reading on finds them.
    const reader = ns.followEvents({
      after: head,
      queue: 'wanted',
      pollMs: 2 ** 31 - 1,
      signal: controller.signal,
    });
    const first = await Promise.race([
      reader.next(),
      new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), STALLED_AFTER_MS).unref()),
    ]);
    controller.abort();
    expect(first === 'stalled' ? first : [first.value?.type, first.value?.queue]).toEqual([
      'queue:resumed',
      'wanted',
    ]);
  }, 60_000);
});
