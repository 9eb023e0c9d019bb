/** Conformance: the cluster event log (SQLite migration 007, PostgreSQL 010, docs/EVENTS.md). */
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/cluster-events.js';
import type { Store } from '../../src/store/store.js';
import { expectCode } from '../support/expect-code.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { claimOne, failOne, insertOne } from './helpers.js';

/** Every event after `after`, read in pages of `limit`. */
async function readPages(
  store: Store,
  after: string | null,
  filter: { queue?: string; task?: string; jobId?: string },
  limit: number,
): Promise<{ events: ClusterEvent[]; next: string }> {
  const events: ClusterEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.eventRead({ after: cursor, limit, ...filter });
    events.push(...page.events);
    cursor = page.next;
    if (!page.more) return { events, next: cursor };
  }
}

/**
 * Every event after `after`, once at least `expected` are readable: on PostgreSQL a committed event
 * becomes readable when every older writing transaction on the server ended, and other tests' may
 * still be open for a moment.
 */
async function readAll(
  store: Store,
  after: string | null,
  filter: { queue?: string; task?: string; jobId?: string } = {},
  limit = 1000,
  expected = 0,
): Promise<{ events: ClusterEvent[]; next: string }> {
  return waitUntil(
    async () => {
      const read = await readPages(store, after, filter, limit);
      return read.events.length >= expected ? read : undefined;
    },
    { timeoutMs: 10_000 },
  );
}

const brief = (e: ClusterEvent) => [e.type, e.jobId, e.state, e.attempt];

/** Event-log tests. */
export function describeEventLog(h: StoreHarness): void {
  describe('event log', () => {
    it('records every job transition once, in order, with its job fields', async () => {
      const store = await h.open();
      const head = await store.eventHead();
      // Each job on a queue of its own (claimOne's default), so each claim takes the job it means.
      const done = await claimOne(store, { task: 'mail.send' });
      await store.jobFinishMany({
        finishes: [{ id: done.id, leaseToken: done.leaseToken, outcome: 'completed' }],
      });
      const retried = await claimOne(store, { maxAttempts: 2 });
      await store.jobFinishMany({
        finishes: [
          {
            id: retried.id,
            leaseToken: retried.leaseToken,
            outcome: 'failed',
            error: { message: 'boom', reason: 'failed' },
            retryDelayMs: 60_000,
          },
        ],
      });
      const failed = await failOne(store);
      await store.jobRetry({ id: failed.id });
      const waiting = await insertOne(store);
      await store.jobCancel({ id: waiting.id });
      const released = await claimOne(store);
      await store.jobFinishMany({
        finishes: [{ id: released.id, leaseToken: released.leaseToken, outcome: 'released' }],
      });

      const { events } = await readAll(store, head, {}, 1000, 14);
      expect(events.map(brief)).toEqual([
        ['job:enqueued', done.id, 'queued', 0],
        ['job:started', done.id, 'running', 1],
        ['job:completed', done.id, 'completed', 1],
        ['job:enqueued', retried.id, 'queued', 0],
        ['job:started', retried.id, 'running', 1],
        ['job:retrying', retried.id, 'scheduled', 1],
        ['job:enqueued', failed.id, 'queued', 0],
        ['job:started', failed.id, 'running', 1],
        ['job:failed', failed.id, 'failed', 1],
        ['job:retrying', failed.id, 'queued', 1],
        ['job:enqueued', waiting.id, 'queued', 0],
        ['job:cancelled', waiting.id, 'cancelled', 0],
        ['job:enqueued', released.id, 'queued', 0],
        ['job:started', released.id, 'running', 1],
        // The release gave its attempt back: no event.
      ]);
      const completed = events[2];
      expect(completed).toMatchObject({ task: 'mail.send', queue: done.queue });
      expect(Number.isNaN(Date.parse(completed?.at ?? ''))).toBe(false);
      expect(events[5]?.error).toMatchObject({ message: 'boom' });
      // Cursors are unique and strictly ordered: resuming after each event yields the rest.
      const ids = events.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      const rest = await readAll(store, ids[6] ?? null, {}, 1000, 7);
      expect(rest.events.map((e) => e.id)).toEqual(ids.slice(7));
    });

    it('filters by queue, task and job id, and pages without gaps or repeats', async () => {
      const store = await h.open();
      const head = await store.eventHead();
      const queue = `q-${uuidv7()}`;
      const jobs = Array.from({ length: 25 }, (_, i) =>
        newJob({ queue, task: i % 2 === 0 ? 'even' : 'odd' }),
      );
      await store.jobInsertMany({ jobs });
      await store.jobInsertMany({ jobs: [newJob({ queue: `${queue}-other` })] });
      const paged = await readAll(store, head, { queue }, 7, 25);
      expect(paged.events.map((e) => e.jobId)).toEqual(jobs.map((j) => j.id));
      const odd = await readAll(store, head, { queue, task: 'odd' }, 3, 12);
      expect(odd.events).toHaveLength(12);
      const one = await readAll(store, head, { jobId: jobs[3]?.id ?? '' }, 1000, 1);
      expect(one.events.map((e) => e.jobId)).toEqual([jobs[3]?.id]);
      // A filtered reader's cursor moves past what it skipped: nothing new, nothing returned.
      const again = await store.eventRead({ after: odd.next, limit: 10, queue, task: 'odd' });
      expect(again.events).toEqual([]);
      const none = await store.eventRead({ after: head, limit: 10, queue: 'nobody' });
      expect(none.events).toEqual([]);
      const everything = await readAll(store, none.next, {});
      expect(everything.events).toEqual([]);
    });

    it('says whether more is readable, past a filtered page the log scan cut short', async () => {
      const store = await h.open();
      const head = await store.eventHead();
      // One log entry each on both stores: more entries than a page's limit stand before the match.
      const noise = Array.from({ length: 12 }, () => ({ type: 'queue:paused' as const, queue: 'noise' }));
      await store.eventAppend({ events: [...noise, { type: 'queue:resumed', queue: 'wanted' }] });
      // On PostgreSQL a committed event is readable once every older writing transaction ended.
      const all = await readAll(store, head, {}, 100, 13);
      expect(all.events).toHaveLength(13);
      const last = await store.eventRead({ after: head, limit: 100 });
      expect([last.events.length, last.more]).toEqual([13, false]);
      const full = await store.eventRead({ after: head, limit: 13 });
      expect([full.events.length, full.more]).toEqual([13, true]);
      expect(await store.eventRead({ after: full.next, limit: 13 })).toMatchObject({
        events: [],
        more: false,
      });

      // A filtered page may be short, even empty (PostgreSQL scans at most `limit` entries), and then
      // says there is more: reading on while it does reaches the match, and the last page says so.
      const pages: Array<{ events: number; more: boolean }> = [];
      const found: ClusterEvent[] = [];
      let cursor = head;
      for (let more = true; more;) {
        const page = await store.eventRead({ after: cursor, limit: 5, queue: 'wanted' });
        pages.push({ events: page.events.length, more: page.more });
        found.push(...page.events);
        cursor = page.next;
        more = page.more;
      }
      expect(found.map((e) => [e.type, e.queue])).toEqual([['queue:resumed', 'wanted']]);
      expect(pages.slice(0, -1).every((page) => page.events === 0)).toBe(true);
    });

    it("logs a batch claim's and completion's events per job, resumable from each one", async () => {
      const store = await h.open();
      const head = await store.eventHead();
      const queue = `q-${uuidv7()}`;
      const jobs = Array.from({ length: 6 }, (_, i) => newJob({ queue, task: i % 3 === 0 ? 'a' : 'b' }));
      await store.jobInsertMany({ jobs });
      const claimed = await store.jobClaim({ workerId: 'w', queues: [queue], limit: 6, leaseMs: 60_000 });
      expect(claimed).toHaveLength(6);
      const { accepted } = await store.jobFinishMany({
        finishes: claimed.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
      });
      expect(accepted).toHaveLength(6);

      const { events } = await readAll(store, head, {}, 1000, 18);
      expect(events.map((e) => e.type)).toEqual([
        ...Array<string>(6).fill('job:enqueued'),
        ...Array<string>(6).fill('job:started'),
        ...Array<string>(6).fill('job:completed'),
      ]);
      const byId = new Map(jobs.map((j) => [j.id, j]));
      for (const [type, state, attempt] of [
        ['job:started', 'running', 1],
        ['job:completed', 'completed', 1],
      ] as const) {
        const ofType = events.filter((e) => e.type === type);
        expect(ofType.map((e) => e.jobId).sort()).toEqual(jobs.map((j) => j.id).sort());
        for (const e of ofType) {
          expect(e).toMatchObject({ state, attempt, queue, task: byId.get(e.jobId ?? '')?.task });
        }
      }
      // Every cursor resumes exactly after its event, within a row of many events or between rows.
      const ids = events.map((e) => e.id);
      expect(new Set(ids).size).toBe(18);
      for (const [i, id] of ids.entries()) {
        expect((await readAll(store, id, {}, 1000, 17 - i)).events.map((e) => e.id)).toEqual(
          ids.slice(i + 1),
        );
      }
      // Pages of one event step through rows of many (a short page need not be the end on PostgreSQL,
      // whose pages are bounded by the log rows they scan).
      const paged: ClusterEvent[] = [];
      for (let cursor = head, pages = 0; paged.length < 18 && pages < 100; pages += 1) {
        const page = await store.eventRead({ after: cursor, limit: 1 });
        paged.push(...page.events);
        cursor = page.next;
      }
      expect(paged.map((e) => e.id)).toEqual(ids);
      const one = await readAll(store, head, { jobId: jobs[4]?.id ?? '' }, 2, 3);
      expect(one.events.map((e) => e.type)).toEqual(['job:enqueued', 'job:started', 'job:completed']);
      const b = await readAll(store, head, { task: 'b' }, 3, 12);
      expect(b.events.every((e) => e.task === 'b')).toBe(true);
      expect(b.events).toHaveLength(12);
    });

    it('writes no event for a transition that rolled back', async () => {
      const store = await h.open();
      const head = await store.eventHead();
      const job = newJob({});
      await expect(
        store.transaction(async (tx) => {
          await store.jobInsertMany({ jobs: [job], tx });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await readAll(store, head)).events).toEqual([]);
      await store.transaction(async (tx) => {
        await store.jobInsertMany({ jobs: [job], tx });
        await store.eventAppend({
          tx,
          events: [{ type: 'queue:paused', queue: job.queue, data: { by: 'test' } }],
        });
      });
      const { events } = await readAll(store, head, {}, 1000, 2);
      expect(events.map((e) => e.type)).toEqual(['job:enqueued', 'queue:paused']);
      expect(events[1]).toMatchObject({ queue: job.queue, data: { by: 'test' } });
    });

    it('records a queue pause and resume once each, and nothing for a repeated one', async () => {
      const store = await h.open();
      const head = await store.eventHead();
      const queue = `q-${uuidv7()}`;
      expect(await store.queuePause({ queue })).toBe(true);
      expect(await store.queuePause({ queue })).toBe(false);
      expect(await store.queueResume({ queue })).toBe(true);
      expect(await store.queueResume({ queue })).toBe(false);
      const { events } = await readAll(store, head, { queue }, 1000, 2);
      expect(events.map((e) => [e.type, e.queue])).toEqual([
        ['queue:paused', queue],
        ['queue:resumed', queue],
      ]);
    });

    it('refuses a malformed cursor, a bad limit and an unknown event type', async () => {
      const store = await h.open();
      await expectCode(store.eventRead({ after: 'nope', limit: 10 }), 'invalid_argument');
      await expectCode(store.eventRead({ after: null, limit: 0 }), 'invalid_argument');
      await expectCode(
        store.eventAppend({ events: [{ type: 'job:exploded' as 'job:failed' }] }),
        'invalid_argument',
      );
    });

    it('refuses a cursor ahead of every event the database ever wrote (replaced or restored)', async () => {
      const store = await h.open();
      await store.jobInsertMany({ jobs: [newJob({})] });
      const head = await store.eventHead();
      // Far past the head on either backend (SQLite: a row id; PostgreSQL: a transaction id first).
      const ahead = head.replace(/^\d+/, (n) => String(BigInt(n) + 10n ** 12n));
      const refused = store.eventRead({ after: ahead, limit: 10 });
      await expectCode(refused, 'invalid_argument');
      await expect(refused).rejects.toThrow(/ahead of this database's event log/);
      // The head itself is a good cursor. It skips what was readable when it was taken, which on
      // PostgreSQL may leave out the insert's event while another transaction of the server (another
      // test's) was still open: at most that one event follows it.
      const fromHead = await store.eventRead({ after: head, limit: 10 });
      expect(fromHead.events.length).toBeLessThanOrEqual(1);
      expect(fromHead.events.every((event) => event.type === 'job:enqueued')).toBe(true);
    });

    it('prunes the oldest events past retention, a bounded batch at a time', async () => {
      const store = await h.open();
      // One insert each: both stores log a statement's events of one type as one entry.
      for (let i = 0; i < 30; i += 1) await store.jobInsertMany({ jobs: [newJob({})] });
      expect(await store.eventPrune({ olderThanMs: 3_600_000, limit: 100 })).toEqual({ deleted: 0 });
      const before = await readAll(store, null, {}, 1000, 30);
      expect(before.events).toHaveLength(30);
      await h.advanceClock(store, 3_600_001);
      expect(await store.eventPrune({ olderThanMs: 3_600_000, limit: 10 })).toEqual({ deleted: 10 });
      expect((await readAll(store, null)).events).toHaveLength(20);
      expect(await store.eventPrune({ olderThanMs: 3_600_000, limit: 100 })).toEqual({ deleted: 20 });
      expect((await readAll(store, null)).events).toHaveLength(0);
      // A reader's cursor stays good when retention emptied the log past it.
      expect((await readAll(store, before.next)).events).toHaveLength(0);
      await store.jobInsertMany({ jobs: [newJob({})] });
      expect((await readAll(store, before.next, {}, 1000, 1)).events).toHaveLength(1);
    });
  });
}
