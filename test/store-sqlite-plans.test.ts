/**
 * The hot queries use the indexes 001_jobs.sql built for them (EXPLAIN QUERY PLAN), so a big
 * backlog of finished or future jobs never turns a claim or a sweep into a table scan or a sort.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as claim from '../src/store/sqlite/sql/job-claim.js';
import * as groups from '../src/store/sqlite/sql/job-groups.js';
import * as limits from '../src/store/sqlite/sql/concurrency-limits.js';
import { jobCancelCheck, jobCancelMatchingWaiting } from '../src/store/sqlite/sql/job-control.js';
import {
  queueRunningList,
  READY_INDEXES,
  readyIndexWalk,
  scheduledDueWalk,
  scheduledLaterWalk,
} from '../src/store/sqlite/sql/observe.js';
import * as labels from '../src/store/sqlite/sql/worker-labels.js';
import {
  jobFinishManyAttemptEnd,
  jobFinishManyComplete,
  jobFinishManyRunningGet,
} from '../src/store/sqlite/sql/job-finish.js';
import { jobLeaseRenew } from '../src/store/sqlite/sql/job-lease.js';
import { concurrencyKeySetRate, jobClaimRateWait } from '../src/store/sqlite/sql/rate-limits.js';
import { jobIdleCheck, jobRescueLapsedSelect, jobPrune } from '../src/store/sqlite/sql/job-maintenance.js';
import { eventPrune, eventRead } from '../src/store/sqlite/sql/events.js';
import { workerHeartbeat } from '../src/store/sqlite/sql/fleet.js';
import {
  jobFinishedCountSlice,
  jobList,
  jobListDead,
  jobListDeadWalkEnd,
  jobListWalkEnd,
  jobNextDue,
  jobNextRowid,
  jobRunList,
} from '../src/store/sqlite/sql/job-read.js';
import { scheduleList } from '../src/store/sqlite/sql/schedules.js';
import { prefixRangeEnd } from '../src/store/sqlite/prefix-range.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { newJob } from './support/jobs.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const harness = sqliteHarness();
afterEach(() => harness.close());

/** A fresh database, or one holding jobs in every state whose statistics ANALYZE has gathered. */
type Setup = 'empty' | 'analyzed';

async function openFor(setup: Setup): Promise<SqliteStore> {
  const store = (await harness.open()) as SqliteStore;
  if (setup === 'empty') return store;
  const now = Date.now();
  await store.jobInsertMany({
    jobs: Array.from({ length: 3_000 }, (_, i) =>
      newJob({ queue: `q${i % 5}`, priority: i % 3, ...(i % 4 === 0 && { runAt: new Date(now + 60_000) }) }),
    ),
  });
  const claimed = await store.jobClaim({ workerId: 'w', limit: 1_500, leaseMs: 60_000 });
  await store.jobFinishMany({
    finishes: claimed
      .slice(0, 1_200)
      .map((job) => ({ id: job.id, leaseToken: job.leaseToken, outcome: 'completed' })),
  });
  // With statistics the planner weighs indexes by measured selectivity instead of fixed guesses.
  store.database.exec('ANALYZE');
  return store;
}

let setup: Setup = 'empty';

/** `params`: named parameters, or the values of positional ones in order. */
async function plan(sql: string, params: Record<string, unknown> | unknown[]): Promise<string> {
  const store = await openFor(setup);
  const statement = store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (Array.isArray(params) ? statement.all(...params) : statement.all(params)) as Array<{
    detail: string;
  }>;
  return rows.map((row) => row.detail).join('\n');
}

describe.each(['empty', 'analyzed'] as const)('SQLite query plans on a %s database', (which) => {
  beforeEach(() => {
    setup = which;
  });

  it('claims from all queues by walking jobs_ready in order, without a sort', async () => {
    const detail = await plan(claim.jobClaimReadySelect, { now: 0, limit: 10 });
    // With statistics SQLite may skip-scan it by priority (SEARCH ... ANY(priority)): same order, no sort.
    // Nothing paused: no paused-queue lookup; each walked row is read for its queue and key (limits).
    expect(detail).toMatch(/(SCAN|SEARCH) jobs USING INDEX jobs_ready\b/);
    expect(detail).not.toMatch(/paused_queues/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
  });

  it('claims from all queues while some are paused by the same walk, probing the paused list', async () => {
    expect(await plan(claim.jobClaimAnyPaused, {})).toMatch(/SCAN paused_queues/);
    const detail = await plan(claim.jobClaimReadySelectUnpaused, { now: 0, limit: 10 });
    expect(detail).toMatch(/(SCAN|SEARCH) jobs USING INDEX jobs_ready\b/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
    // Each row walked is read for its queue: one probe of the paused table's key, never a scan of it.
    expect(detail).toMatch(/USING INDEX sqlite_autoindex_paused_queues_1 FOR IN-OPERATOR/);
    expect(detail).not.toMatch(/SCAN paused_queues/);
  });

  it('claims from one queue by walking that queue in jobs_ready_queue, without a sort', async () => {
    const detail = await plan(claim.jobClaimReadySelectQueue, { now: 0, queue: 'a', limit: 10 });
    expect(detail).toMatch(/SEARCH jobs USING COVERING INDEX jobs_ready_queue \(queue=\?\)/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
    // The pause test is one primary-key probe, not correlated with the rows walked.
    expect(detail).toMatch(
      /SCALAR SUBQUERY \d+\nSEARCH paused_queues USING (COVERING )?INDEX sqlite_autoindex_paused_queues_1 \(queue=\?\)/,
    );
    // A keyed row's key is probed by its primary key (the correlated subquery); never a scan.
    expect(detail).toMatch(
      /CORRELATED SCALAR SUBQUERY \d+\nSEARCH k USING INDEX sqlite_autoindex_concurrency_keys_1 \(key=\?\)/,
    );
    expect(detail).not.toMatch(/SCAN (k|concurrency_keys)\b/);
  });

  it("reads and takes the candidates' keys by their primary key, one statement each for all the keys", async () => {
    const read = await plan(limits.jobClaimKeysGet, { keys: '["a","b"]', now: 0 });
    expect(read).toMatch(
      /SEARCH concurrency_keys USING INDEX sqlite_autoindex_concurrency_keys_1 \(key=\?\)/,
    );
    expect(read).not.toMatch(/SCAN concurrency_keys\b/);
    // The upsert's conflict test is the primary key's by construction; the plan walks only the list.
    const take = await plan(limits.jobClaimKeysTake, { takes: '[["a",1,1]]', now: 0 });
    expect(take).toMatch(/SCAN json_each/);
    expect(take).not.toMatch(/SCAN concurrency_keys\b/);
  });

  it("an operator's limit or rate on a key reads no job", async () => {
    // Setting a limit looked up a queued job of the key for the row's limit, reading every row of
    // `jobs`, finished history included, at each call.
    for (const setting of [
      await plan(limits.concurrencyKeySetLimit, { key: 'k', max: 5 }),
      await plan(concurrencyKeySetRate, { key: 'k', limit: 5, periodMs: 1_000 }),
    ]) {
      expect(setting).not.toMatch(/\bjobs\b/);
    }
  });

  it('claims for a worker with labels by probing the requirement sets and walking only those it meets', async () => {
    const next = await plan(labels.jobClaimLabelSetNext, { after: '' });
    expect(next).toMatch(/SEARCH jobs USING COVERING INDEX jobs_ready_labels \(requires>\?\)/);
    expect(next).not.toMatch(/TEMP B-TREE/);
    const all = await plan(labels.jobClaimReadySelectLabels, { now: 0, limit: 10, requires: '["a"]' });
    expect(all).toMatch(/SEARCH jobs USING INDEX jobs_ready_labels \(requires=\?\)/);
    expect(all).not.toMatch(/TEMP B-TREE|SCAN jobs\b/);
    const one = await plan(labels.jobClaimReadySelectLabelsQueue, {
      now: 0,
      limit: 10,
      queue: 'a',
      requires: '["a"]',
    });
    expect(one).toMatch(
      /SEARCH jobs USING COVERING INDEX jobs_ready_labels_queue \(queue=\? AND requires=\?\)/,
    );
    expect(one).not.toMatch(/TEMP B-TREE|SCAN jobs\b/);
  });

  it('counts, dates, throttles and cancels queued jobs through the partial indexes, with and without requirements', async () => {
    // The queue list's, the scrape's and the alerts' read of the waiting jobs (backlog-read.ts), in slices: each
    // statement one seek of a ready index (a run of one prefix value and priority, ranges of
    // (run_at, id) within it), of jobs_scheduled (ranges of (run_at, rowid)) or of jobs_lease, a key
    // probed by its primary key once per keyed job, never a sort of the jobs.
    const walk = {
      queue: 'a',
      requires: '["a"]',
      group_key: 'g',
      priority: 0,
      afterRunAt: 0,
      afterId: '',
      upToRunAt: 0,
      upToId: '',
      rows: 10,
      now: 0,
      runAt: 0,
      afterRow: 0,
      upToRow: 0,
      after: 0,
      before: 0,
    };
    for (const index of READY_INDEXES) {
      const statements = readyIndexWalk(index);
      const prefix = index.prefix.join('=\\? AND ') + '=\\?';
      const cover = `SEARCH j USING COVERING INDEX ${index.name}`;
      // An index of jobs with labels starts past NULL requirements (requires>?).
      expect(await plan(statements.first, walk)).toMatch(
        new RegExp(`^(SCAN|SEARCH) j USING COVERING INDEX ${index.name}( \\(requires>\\?\\))?$`),
      );
      expect(await plan(statements.nextPriority, walk)).toMatch(
        new RegExp(`^${cover} \\(${prefix} AND priority<\\?\\)$`),
      );
      // Past a prefix value: a range of the prefix from it (up to another), grouped in index order.
      const past = `\\(?${index.prefix.join(',')}\\)?>\\(?[?,]+\\)?`;
      expect(await plan(statements.prefixesEnd, walk)).toMatch(new RegExp(`^${cover} \\(${past}\\)$`));
      for (const sums of [statements.prefixSums, statements.prefixSumsRest]) {
        const detail = await plan(sums, {
          ...walk,
          upTo_queue: 'b',
          upTo_requires: '["b"]',
          upTo_group_key: 'h',
        });
        expect(detail).toMatch(
          new RegExp(`^${cover} \\(${past}( AND \\(?${index.prefix.join(',')}\\)?<\\(?[?,]+\\)?)?\\)$`, 'm'),
        );
        expect(detail).toMatch(
          /^SEARCH k USING INDEX sqlite_autoindex_concurrency_keys_1 \(key=\?\) LEFT-JOIN$/m,
        );
        expect(detail).not.toMatch(/TEMP B-TREE/);
      }
      const run = `${prefix} AND priority=\\? AND \\(run_at,id\\)>\\(\\?,\\?\\)`;
      expect(await plan(statements.end, walk)).toMatch(new RegExp(`^${cover} \\(${run}\\)$`));
      expect(await plan(statements.sums, walk)).toMatch(
        new RegExp(
          `^${cover} \\(${run} AND \\(run_at,id\\)<\\(\\?,\\?\\)\\)\n` +
            'SEARCH k USING INDEX sqlite_autoindex_concurrency_keys_1 \\(key=\\?\\) LEFT-JOIN$',
        ),
      );
    }
    for (const statements of [scheduledDueWalk, scheduledLaterWalk]) {
      expect(await plan(statements.tieEnd, walk)).toBe(
        'SEARCH j USING COVERING INDEX jobs_scheduled (run_at=? AND rowid>?)',
      );
      expect(await plan(statements.spanEnd, walk)).toBe(
        'SEARCH j USING COVERING INDEX jobs_scheduled (run_at>? AND run_at<?)',
      );
      expect(await plan(statements.tie, walk)).toMatch(
        /^SEARCH j USING INDEX jobs_scheduled \(run_at=\? AND rowid>\? AND rowid<\?\)$/m,
      );
      expect(await plan(statements.span, walk)).toMatch(
        /^SEARCH j USING INDEX jobs_scheduled \(run_at>\? AND run_at<\?\)$/m,
      );
      for (const range of [statements.tie, statements.span])
        expect(await plan(range, walk)).not.toMatch(/SCAN (j|k|jobs|concurrency_keys)\b/);
    }
    expect(await plan(queueRunningList, {})).toMatch(/^SCAN jobs USING INDEX jobs_lease$/m);
    // The queue list's finished counts: one rowid range of the table per read, past pruned ranges.
    expect(await plan(jobFinishedCountSlice, { after: 0, upTo: 10 })).toMatch(
      /^SEARCH jobs USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/m,
    );
    expect(await plan(jobNextRowid, { after: 0 })).toMatch(
      /^SEARCH jobs USING INTEGER PRIMARY KEY \(rowid>\?\)$/m,
    );
    const matching = {
      queue: null,
      task: null,
      search: null,
      createdAfter: null,
      createdBefore: null,
      limit: 10,
      now: 0,
    };
    const cancel = await plan(jobCancelMatchingWaiting('queued'), matching);
    // Jobs without a group or requirements from jobs_ready or jobs_ready_queue (both hold exactly them).
    for (const index of [
      'jobs_ready(_queue)?',
      'jobs_ready_labels',
      'jobs_ready_group',
      'jobs_ready_group_labels',
    ]) {
      expect(cancel).toMatch(new RegExp(`(SCAN|SEARCH) jobs USING (COVERING )?INDEX ${index}\\b`));
    }
    expect(cancel).not.toMatch(/SCAN jobs$/m);
    // Scheduled jobs due at @now (they read queued) and those due later: the two sides of jobs_scheduled.
    for (const set of ['due', 'later'] as const) {
      const scheduled = await plan(jobCancelMatchingWaiting(set), matching);
      expect(scheduled).toMatch(/SEARCH jobs USING INDEX jobs_scheduled \(run_at[<>]\?\)/);
      expect(scheduled).not.toMatch(/SCAN jobs$/m);
    }
  });

  it('counts each group’s ready jobs through the grouped ready indexes and the due end of jobs_scheduled', async () => {
    const detail = await plan(groups.groupList, { after: '', running: 0, limit: 50, now: 0 });
    expect(detail).toMatch(/SCAN jobs USING COVERING INDEX jobs_ready_group\b/);
    expect(detail).toMatch(/(SCAN|SEARCH) jobs USING COVERING INDEX jobs_ready_group_labels\b/);
    // The scheduled jobs due at @now read queued: the range up to now, never the jobs due later.
    expect(detail).toMatch(/SEARCH jobs USING INDEX jobs_scheduled \(run_at<\?\)/);
    expect(detail).toMatch(/SCAN jobs USING INDEX jobs_lease\b/);
    expect(detail).not.toMatch(/SCAN jobs$/m);
  });

  it('starts each claimed job by its primary key', async () => {
    const detail = await plan(claim.jobClaim, {
      ids: '[]',
      slotted: '[]',
      leaseToken: 't',
      now: 0,
      leaseMs: 1,
      workerId: 'w',
    });
    expect(detail).toMatch(/SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 \(id=\?\)/);
    expect(detail).not.toMatch(/SCAN jobs\b/);
  });

  it('finds due scheduled jobs by a range on jobs_scheduled, and the next due one at its start', async () => {
    expect(await plan(claim.jobClaimPromoteDue, { now: 0, limit: 10 })).toMatch(
      /SEARCH jobs USING INDEX jobs_scheduled \(run_at<\?\)/,
    );
    const next = await plan(claim.jobClaimNextDue, { now: 0 });
    expect(next).toMatch(/SCAN jobs USING (COVERING )?INDEX jobs_scheduled\b/);
    expect(next).not.toMatch(/TEMP B-TREE/);
    // The rates out of starts: the rated keys through their own index, not every key's row.
    const rates = await plan(jobClaimRateWait, { now: 0, queues: '["q"]' });
    expect(rates).toMatch(/SCAN concurrency_keys USING (COVERING )?INDEX concurrency_keys_rated\b/);
  });

  it('finds lapsed leases by a range on jobs_lease', async () => {
    const detail = await plan(jobRescueLapsedSelect, { now: 0, limit: 10 });
    expect(detail).toMatch(/SEARCH jobs USING INDEX jobs_lease \(lease_expires_at<\?\)/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
  });

  it('checks that no job waits or runs by one probe of each partial index', async () => {
    const detail = await plan(jobIdleCheck, {});
    const probes = detail.split('\n').filter((line) => line.includes('jobs'));
    // Six probes, each of a partial index holding only rows it asks for, so its first entry answers.
    expect(probes).toHaveLength(6);
    for (const probe of probes) {
      expect(probe).toMatch(/^(SCAN|SEARCH) jobs USING COVERING INDEX jobs_(lease|scheduled|ready\w*)\b/);
    }
    expect(probes.filter((probe) => probe.includes('jobs_lease'))).toHaveLength(1);
    expect(probes.filter((probe) => probe.includes('jobs_scheduled'))).toHaveLength(1);
  });

  it('lists newest first from jobs_created, and failed or cancelled jobs from jobs_dead_created', async () => {
    const params = {
      state: null,
      queue: null,
      task: null,
      search: null,
      createdAfter: null,
      createdBefore: null,
      // The first page's cursor (after every job), as the store passes it.
      cursorCreatedAt: Number.MAX_SAFE_INTEGER,
      cursorId: '',
      limit: 10,
      now: 0,
    };
    // A bounded walk of the index alone from the cursor, on the first page or any later one (a deep
    // page seeks to its cursor rather than scan every newer job first, as `@cursor IS NULL OR ...` made
    // it), streamed to the filters (a co-routine, no sort), each walked job read by its rowid, so a
    // page that fills stops it.
    for (const cursor of [{}, { cursorCreatedAt: 1, cursorId: 'a' }]) {
      const page = await plan(jobList, { ...params, ...cursor, queue: 'q1', walk: 50_000 });
      expect(page).toMatch(
        /CO-ROUTINE w\n\s*SEARCH jobs USING COVERING INDEX jobs_created \(\(created_at,id\)<\(\?,\?\)\)\n\s*SCAN w\n\s*SEARCH jobs USING INTEGER PRIMARY KEY \(rowid=\?\)$/,
      );
      expect(page).not.toMatch(/TEMP B-TREE/);
    }
    // The walk's end, read only for a page that did not fill: through the index alone.
    const { limit: _limit, ...keys } = params;
    expect(await plan(jobListWalkEnd, { ...keys, walk: 50_000 })).toMatch(
      /^SEARCH jobs USING COVERING INDEX jobs_created \(\(created_at,id\)<\(\?,\?\)\)$/m,
    );
    // The failed and cancelled jobs: a bounded walk of their own index, streamed to the filters (a
    // co-routine, no sort), so a page that fills stops it; where a short page stopped, by the index.
    const dead = await plan(jobListDead, { ...params, state: 'failed', walk: 50_000 });
    expect(dead).toMatch(
      /CO-ROUTINE w\n\s*SEARCH jobs USING INDEX jobs_dead_created \(\(created_at,id\)<\(\?,\?\)\)\n\s*SCAN w$/,
    );
    expect(dead).not.toMatch(/TEMP B-TREE/);
    expect(await plan(jobListDeadWalkEnd, { ...keys, walk: 50_000 })).toMatch(
      /^SEARCH jobs USING INDEX jobs_dead_created \(\(created_at,id\)<\(\?,\?\)\)$/m,
    );
  });

  it('finds when the next job joins the queued list from jobs_scheduled past now, in due order', async () => {
    const params = { queue: 'q1', task: null, search: null, createdAfter: null, createdBefore: null, now: 0 };
    const next = await plan(jobNextDue, params);
    expect(next).toMatch(/SEARCH jobs USING INDEX jobs_scheduled \(run_at>\?\)/);
    expect(next).not.toMatch(/TEMP B-TREE/);
  });

  it("reads one job's runs, recorded and implied, by its id in both branches of job_run_history", async () => {
    const detail = await plan(jobRunList, ['a']);
    expect(detail).toMatch(/SEARCH job_runs USING INDEX job_runs_job \(job_id=\?\)/);
    expect(detail).toMatch(/SEARCH j USING INDEX sqlite_autoindex_jobs_1 \(id=\?\)/);
    expect(detail).not.toMatch(/SCAN (jobs|j|job_runs|r)\b/);
  });

  it('finishes, renews and checks for cancellation by primary key', async () => {
    const lease = { id: 'a', leaseToken: 't', now: 0 };
    const byKey = /SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 \(id=\?\)/;
    // The batch's completions: each looked up by its key from the JSON list, never a walk of jobs.
    const complete = await plan(jobFinishManyComplete, { completions: '[]', now: 0 });
    expect(complete).toMatch(/SCAN c VIRTUAL TABLE/);
    expect(complete).toMatch(byKey);
    expect(complete).not.toMatch(/SCAN jobs\b/);
    for (const detail of [
      await plan(jobFinishManyRunningGet, { id: 'a', leaseToken: 't' }),
      await plan(jobFinishManyAttemptEnd, {
        ...lease,
        state: 'failed',
        attempt: 1,
        runAt: 0,
        finishedAt: 0,
        result: null,
        error: null,
        checkpoint: null,
      }),
      await plan(jobLeaseRenew, { ...lease, leaseMs: 1 }),
      await plan(jobCancelCheck, { id: 'a', leaseToken: 't' }),
    ]) {
      expect(detail).toMatch(byKey);
      expect(detail).not.toMatch(/SCAN jobs\b/);
    }
  });

  it('reads and prunes events by the primary key and beats the heartbeat by the worker key', async () => {
    const read = await plan(eventRead, {
      after: 0,
      element: -1,
      head: 10,
      queue: null,
      task: null,
      jobId: null,
      limit: 10,
    });
    // The rows from the cursor's on in key order; only each row's own events are sorted (by element),
    // never the page.
    expect(read).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid>\?/);
    expect(read).toMatch(/USE TEMP B-TREE FOR LAST TERM OF ORDER BY/);
    expect(read).not.toMatch(/TEMP B-TREE FOR ORDER BY|SCAN e\b/);
    const prune = await plan(eventPrune, { limit: 10, before: 0 });
    // The deletion is a key range; the only scan is the walk of the first @limit rows, in key order.
    expect(prune.split('\n')[0]).toBe('SEARCH events USING INTEGER PRIMARY KEY (rowid<?)');
    expect(await plan(workerHeartbeat, { id: 'w', now: 0, running: 1 })).toMatch(
      /SEARCH workers USING INDEX sqlite_autoindex_workers_1 \(id=\?\)/,
    );
  });

  it('lists schedules by primary key, one id prefix by its range of it', async () => {
    const page = { afterId: '', task: 'report', condition: 'active', limit: 51 };
    const prefixed = await plan(scheduleList, {
      ...page,
      idPrefix: 'tenant-7:',
      idPrefixEnd: prefixRangeEnd('tenant-7:'),
    });
    expect(prefixed.split('\n')[0]).toBe(
      'SEARCH sc USING INDEX sqlite_autoindex_schedules_1 (id>? AND id<?)',
    );
    const all = await plan(scheduleList, { ...page, idPrefix: null, idPrefixEnd: null });
    expect(all.split('\n')[0]).toMatch(/^SEARCH sc USING INDEX sqlite_autoindex_schedules_1 \(id>\?/);
    expect(all).not.toMatch(/TEMP B-TREE/);
  });

  it('prunes by a range on jobs_finished and cascades through indexed foreign keys', async () => {
    const detail = await plan(jobPrune, { before: 0, limit: 10 });
    expect(detail).toMatch(/SEARCH jobs USING INDEX jobs_finished/);
    expect(detail).toMatch(/SEARCH job_runs USING COVERING INDEX job_runs_job/);
    expect(detail).toMatch(/SEARCH job_steps USING PRIMARY KEY/);
  });
});

describe.each(['fresh', 'analyzed'] as const)(
  'SQLite fair-claiming plans with one huge group (%s)',
  (which) => {
    /**
     * A group of 20,000 ready jobs without requirements and 5,000 requiring `gpu`, a small group and
     * ungrouped jobs; statistics gathered or not.
     */
    async function hugeGroup(): Promise<SqliteStore> {
      const store = (await harness.open()) as SqliteStore;
      for (let done = 0; done < 25_000; done += 5_000) {
        const requires = done < 20_000 ? [] : ['gpu'];
        await store.jobInsertMany({
          jobs: Array.from({ length: 5_000 }, () => newJob({ group: 'huge', payload: null, requires })),
        });
      }
      await store.jobInsertMany({ jobs: [newJob({ group: 'small' }), newJob(), newJob({ queue: 'other' })] });
      if (which === 'analyzed') store.database.exec('ANALYZE');
      return store;
    }

    it('walks the ready pairs one descent of each stream’s index each, without a sort or a scan', async () => {
      const store = await hugeGroup();
      const explain = (sql: string, params: Record<string, unknown>): string =>
        (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>)
          .map((row) => row.detail)
          .join('\n');
      const pair = { queue: 'default', group: 'huge', now: Date.now() + 1_000, requires: '["gpu"]' };
      // The grouped jobs without requirements, then those of one requirement set (led by it).
      for (const [stream, index, set] of [
        [groups.jobClaimGroupPlain, 'jobs_ready_group', ''],
        [groups.jobClaimGroupLabeled, 'jobs_ready_group_labels', 'requires=\\? AND '],
      ] as const) {
        const search = (terms: string): RegExp =>
          new RegExp(`SEARCH jobs USING (COVERING )?INDEX ${index} \\(${set}${terms}\\)`);
        for (const [sql, terms] of [
          [stream.head, 'queue=\\? AND group_key=\\?'],
          [stream.nextInQueue, 'queue=\\? AND group_key>\\?'],
          [stream.nextQueue, 'queue>\\?'],
        ] as const) {
          const detail = explain(sql, pair);
          expect(detail).toMatch(search(terms));
          expect(detail).not.toMatch(/TEMP B-TREE|SCAN jobs\b/);
        }
        const ready = explain(stream.ready, { ...pair, limit: 10 });
        expect(ready).toMatch(search('queue=\\? AND group_key=\\?'));
        expect(ready).not.toMatch(/TEMP B-TREE|SCAN jobs\b/);
      }
      expect(explain(groups.jobClaimGroupAny, {})).toMatch(
        /SCAN jobs USING COVERING INDEX jobs_ready_group\b/,
      );
      const sets = explain(groups.jobClaimGroupLabelSetNext, { after: '' });
      expect(sets).toMatch(/SEARCH jobs USING COVERING INDEX jobs_ready_group_labels \(requires>\?\)/);
      expect(sets).not.toMatch(/TEMP B-TREE/);
      // Each step reads one row: the head of the next pair, whatever the size of the pair before it.
      const next = store.database.prepare(groups.jobClaimGroupPlain.nextInQueue).all(pair) as Array<{
        group: string;
      }>;
      expect(next.map((row) => row.group)).toEqual(['small']);
      const labelled = store.database.prepare(groups.jobClaimGroupLabeled.nextInQueue).all(pair);
      expect(labelled).toEqual([]);
      // The ungrouped walks read indexes that leave grouped jobs out. (With statistics of two ungrouped
      // jobs SQLite may read them from jobs_ready_queue and sort them instead: as cheap for two.)
      const plain = explain(claim.jobClaimReadySelect, { now: pair.now, limit: 10 });
      expect(plain).toMatch(
        which === 'fresh'
          ? /SCAN jobs USING INDEX jobs_ready\b/
          : /jobs USING (COVERING )?INDEX jobs_ready(_queue)?\b/,
      );
      expect(plain).not.toMatch(/jobs_ready_group/);
      expect(
        store.database.prepare(claim.jobClaimReadySelect).all({ now: pair.now, limit: 10 }),
      ).toHaveLength(2);
    }, 60_000);
  },
);
