/**
 * Ending attempts: plain completions in one prepared statement, every other outcome (failure, timeout,
 * release, cancel) in another that writes the run row too, and the rescue of lapsed leases. The state
 * each outcome leads to is decided in SQL (sql/job-finish.ts), in the same statement as the fence.
 */
import type { JobState } from '../../job.js';
import type {
  JobFinish,
  JobFinishManyParams,
  JobRescueLapsedParams,
  JobRescueLapsedResult,
} from '../store.js';
import type { PostgresConnection } from './connection.js';
import { completionLiterals, isUuid, toBoxedJson, toJsonText } from './job-row.js';
import type { Statement } from './sql/statements.js';

/** `jobFinishMany`: ends the attempts whose lease is current; the rest are refused. */
export async function jobFinishMany(
  conn: PostgresConnection,
  params: JobFinishManyParams,
): Promise<{ accepted: string[] }> {
  // One finish per job in a statement (the completion finds each job's token by its id): a job's
  // second finish, another attempt's (a lapsed one's late finish beside its successor's) or a repeat,
  // goes to the next round, written after this one in the same transaction when there is one.
  const seen = new Set<string>();
  const plain: JobFinish[] = [];
  const other: JobFinish[] = [];
  const later: JobFinish[] = [];
  // The jobs of one claim share its token, so a batch holds a few tokens, each checked once.
  let checkedToken: string | undefined;
  for (const f of params.finishes) {
    if (!isUuid(f.id)) continue;
    if (f.leaseToken !== checkedToken) {
      if (!isUuid(f.leaseToken)) continue;
      checkedToken = f.leaseToken;
    }
    if (seen.has(f.id)) {
      later.push(f);
      continue;
    }
    seen.add(f.id);
    (f.outcome === 'completed' && !f.maxDurationExceeded ? plain : other).push(f);
  }
  // Both statements in the caller's transaction when there is one; otherwise each commits alone (the
  // finishes of a batch are independent, and a mixed batch is rare: failures and releases).
  const completions = plain.length > 0 ? await completeMany(conn, plain, params.tx) : NO_COMPLETIONS;
  const completed = completions.ids;
  const ended = other.length > 0 ? await endMany(conn, other, params.tx) : [];
  if (completed.length > 0 || ended.length > 0) conn.leaseSweepDue = true;
  // Another process hears of freed slots by the statements' NOTIFY; this one's other workers here.
  const freed = completions.freed || (ended[0]?.freed ?? false);
  // pg_notify inside a caller's transaction is delivered at its COMMIT; local listeners wait as long.
  conn.afterCommit(params.tx, () => {
    // An event object per job only when someone listens (a waitFor).
    if (conn.events.has('job:finished')) {
      for (const id of completed) conn.emit('job:finished', { id, state: 'completed' });
    }
    conn.emitChanges(ended);
    if (freed) conn.emit('job:capacity', {});
    // A release writes no event, but one more NOTIFY per rare release batch is not worth a check.
    if (completed.length > 0 || ended.length > 0) conn.eventsWritten();
  });
  // No spread of two arrays: its map checks deoptimised this function, the hottest of a finish.
  const accepted = completed.slice();
  for (const row of ended) accepted.push(row.id);
  if (later.length > 0) {
    for (const id of (await jobFinishMany(conn, { finishes: later, tx: params.tx })).accepted)
      accepted.push(id);
  }
  return { accepted };
}

/**
 * How long after completions that held queue slots or concurrency keys every completion goes straight
 * to the statement that gives them back: while such jobs come, trying the lean statement first would
 * cost a statement more per batch.
 */
const LIMITED_COMPLETIONS_MS = 10_000;

/** When each store last completed jobs that held limits (performance.now()). */
const limitedCompletionsAt = new WeakMap<PostgresConnection, number>();

/**
 * Plain completions; the ids whose lease was still current. Jobs holding no queue slot and no
 * concurrency key, nearly all of them, take the statement that gives nothing back
 * (`jobFinishManyCompleteNoLimits`); whatever it left running for that reason, or for a stale token,
 * then takes `jobFinishManyComplete`, which gives back the limits or refuses the stale token again.
 */
async function completeMany(
  conn: PostgresConnection,
  finishes: JobFinish[],
  tx: unknown,
): Promise<Completions> {
  const limitedAt = limitedCompletionsAt.get(conn);
  if (limitedAt !== undefined && performance.now() - limitedAt < LIMITED_COMPLETIONS_MS) {
    return complete(conn, conn.sql.jobFinishManyComplete, finishes, tx);
  }
  const lean = await complete(conn, conn.sql.jobFinishManyCompleteNoLimits, finishes, tx);
  if (lean.ids.length === finishes.length) return lean;
  const done = new Set(lean.ids);
  const rest = finishes.filter((f) => !done.has(f.id));
  const limited = await complete(conn, conn.sql.jobFinishManyComplete, rest, tx);
  if (limited.ids.length > 0) limitedCompletionsAt.set(conn, performance.now());
  for (const id of limited.ids) lean.ids.push(id);
  return { ids: lean.ids, freed: limited.freed };
}

/** The ids a completion statement ended, and whether it gave back a queue slot or a concurrency key. */
interface Completions {
  ids: string[];
  freed: boolean;
}

const NO_COMPLETIONS: Completions = { ids: [], freed: false };

/** One completion statement over `finishes`. */
async function complete(
  conn: PostgresConnection,
  statement: Statement,
  finishes: JobFinish[],
  tx: unknown,
): Promise<Completions> {
  const { ids, tokens, results } = completionLiterals(finishes);
  const [row] = await conn.rows<{ ids: string; freed: boolean }>(
    statement,
    [ids, tokens, results, conn.notify.channel, conn.notify.origin],
    tx,
  );
  if (row === undefined || row.ids === '') return { ids: [], freed: false };
  return { ids: row.ids.split(','), freed: row.freed };
}

/** Every other outcome, with its run row (sql/job-finish.ts `jobFinishMany`). */
async function endMany(
  conn: PostgresConnection,
  finishes: JobFinish[],
  tx: unknown,
): Promise<Array<{ id: string; state: JobState; queue: string; freed: boolean }>> {
  // `freed`, the same on every row: whether the statement gave back a queue slot or a concurrency key.
  return conn.rows<{ id: string; state: JobState; queue: string; freed: boolean }>(
    conn.sql.jobFinishMany,
    [
      finishes.map((f) => f.id),
      finishes.map((f) => f.leaseToken),
      finishes.map((f) => f.outcome),
      finishes.map((f) => toJsonText(f.result)),
      finishes.map((f) => toJsonText(f.error)),
      finishes.map((f) =>
        f.outcome === 'failed' || f.outcome === 'timeout' || f.outcome === 'released'
          ? (f.retryDelayMs ?? null)
          : null,
      ),
      finishes.map((f) => f.outcome === 'released' && 'checkpoint' in f),
      finishes.map((f) => (f.outcome === 'released' ? toBoxedJson(f.checkpoint) : null)),
      finishes.map((f) => f.maxDurationExceeded ?? false),
      conn.notify.channel,
      conn.notify.origin,
    ],
    tx,
  );
}

/** `jobIdleCheck`: no job waits and no claim's lease row is left (sql/job-maintenance.ts). */
export async function jobIdleCheck(conn: PostgresConnection): Promise<boolean> {
  const [row] = await conn.rows<{ idle: boolean }>(conn.sql.jobIdleCheck, []);
  return row?.idle === true;
}

/**
 * `jobRescueLapsed`: requeues (or fails, attempts spent) up to `limit` attempts whose lease lapsed,
 * then, when this store ended jobs since it last did, drops the lease rows of claims whose jobs all
 * ended (`jobLeaseSweep`).
 */
export async function jobRescueLapsed(
  conn: PostgresConnection,
  params: JobRescueLapsedParams,
): Promise<JobRescueLapsedResult> {
  const limit = Math.floor(params.limit);
  if (limit <= 0) return { requeued: [], failed: [] };
  const rows = await conn.rows<{ id: string; state: JobState; queue: string; freed: boolean }>(
    conn.sql.jobRescueLapsed,
    [limit, conn.notify.channel, conn.notify.origin],
  );
  conn.emitChanges(rows);
  if (rows[0]?.freed === true) conn.emit('job:capacity', {});
  if (rows.length > 0) conn.eventsWritten();
  if (conn.leaseSweepDue) {
    // Cleared first: jobs this store ends during the sweep make the next pass sweep again.
    conn.leaseSweepDue = false;
    await jobLeaseSweep(conn);
  }
  return {
    requeued: rows.filter((r) => r.state === 'queued').map((r) => r.id),
    failed: rows.filter((r) => r.state === 'failed').map((r) => r.id),
  };
}

/** Lease rows one sweep page reads: a page's probes are one per job id of its claims. */
const LEASE_SWEEP_PAGE = 1_000;

/**
 * Drops the lease rows of claims whose jobs all ended, before their lease end (sql/job-maintenance.ts
 * `jobLeaseSweep`): page after page over the whole table, rows of claims still running included, so
 * a thousand running claims at its head cannot hide the ended ones behind them.
 */
async function jobLeaseSweep(conn: PostgresConnection): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const pages: Array<{ read: number; last_expires_at: string | null }> = await conn.rows(
      conn.sql.jobLeaseSweep,
      [LEASE_SWEEP_PAGE, after],
    );
    const page = pages[0];
    if (page === undefined || page.read < LEASE_SWEEP_PAGE) return;
    after = page.last_expires_at;
  }
}
