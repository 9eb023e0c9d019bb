/**
 * The torture checker: judges a run from its history (what clients were told, what handlers did) and
 * the final database (jobs, runs, the trigger-recorded state changes, effect rows, the slot ledger).
 * Pure: the same inputs give the same verdict, so a doctored history can show that it fails.
 */
import type { FinalState } from './database.js';
import type { HistoryEvent } from './history.js';
import { checkpointedResult, fanoutChildKey } from './tasks.js';
import { TENANT_LIMIT } from './workload.js';

/** The properties a run must keep. */
export type Property =
  | 'lost_enqueue'
  | 'completed_twice'
  | 'unfenced_reexecution'
  | 'execution_without_claim'
  | 'idempotency'
  | 'slot_twice'
  | 'checkpoint_not_resumed'
  | 'wrong_result'
  | 'effect_not_once'
  | 'children_not_once'
  | 'stranded'
  | 'illegal_transition'
  | 'unrecorded_execution'
  | 'key_over_limit'
  | 'slot_leak';

/** One broken property, with the job or slot it is about. */
export interface Violation {
  property: Property;
  message: string;
  jobId?: string | undefined;
  /** Other history keys of the offending case (an idempotency key, a schedule id). */
  key?: string | undefined;
}

/** Every state change the documented state machine allows (docs/ARCHITECTURE.md); `null` is the insert. */
export const ALLOWED_TRANSITIONS: ReadonlyMap<string | null, ReadonlySet<string>> = new Map<
  string | null,
  ReadonlySet<string>
>([
  [null, new Set(['scheduled', 'queued'])],
  // A due scheduled job is claimed (PostgreSQL) or promoted then claimed (SQLite) in one statement.
  ['scheduled', new Set(['queued', 'running', 'cancelled'])],
  ['queued', new Set(['running', 'cancelled'])],
  // Finish, retry backoff or unserved release (scheduled), rescue or graceful release (queued).
  ['running', new Set(['completed', 'failed', 'cancelled', 'scheduled', 'queued'])],
  ['failed', new Set(['queued', 'scheduled'])],
  ['cancelled', new Set(['queued', 'scheduled'])],
  ['completed', new Set()],
]);

/** Summary numbers of a run's history, for the report. */
export interface HistoryStats {
  ops: number;
  acknowledged: number;
  executions: number;
  faults: Record<string, number>;
}

/** Counts what happened: operations, acknowledgements, executions and each fault kind begun. */
export function historyStats(events: readonly HistoryEvent[]): HistoryStats {
  const stats: HistoryStats = { ops: 0, acknowledged: 0, executions: 0, faults: {} };
  for (const event of events) {
    if (event.kind === 'op') stats.ops += 1;
    else if (event.kind === 'ack') stats.acknowledged += 1;
    else if (event.kind === 'exec_start') stats.executions += 1;
    else if (event.kind === 'fault' && event.phase === 'begin')
      stats.faults[event.fault] = (stats.faults[event.fault] ?? 0) + 1;
  }
  return stats;
}

interface Execution {
  start: Extract<HistoryEvent, { kind: 'exec_start' }>;
  end?: Extract<HistoryEvent, { kind: 'exec_end' }>;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Checks every property; an empty list means the run kept them all. */
export function checkRun(events: readonly HistoryEvent[], final: FinalState): Violation[] {
  const violations: Violation[] = [];
  const jobs = new Map(final.jobs.map((job) => [job.id, job]));
  const ops = new Map<number, Extract<HistoryEvent, { kind: 'op' }>>();
  for (const event of events) if (event.kind === 'op') ops.set(event.op, event);

  // Acknowledged enqueues: the job exists, with the payload the client sent.
  const payloads = new Map<string, Record<string, unknown>>();
  const acksByKey = new Map<string, Array<{ jobId: string; created: boolean }>>();
  for (const event of events) {
    if (event.kind !== 'ack') continue;
    const op = ops.get(event.op);
    if (op?.action !== 'enqueue') continue;
    const jobId = String(event.result['jobId']);
    const created = event.result['created'] === true;
    if (!jobs.has(jobId)) {
      violations.push({
        property: 'lost_enqueue',
        jobId,
        message: `enqueue op ${event.op} was acknowledged with job ${jobId}, which is not in the database`,
      });
    }
    if (created) payloads.set(jobId, op.args['payload'] as Record<string, unknown>);
    const key = op.args['idempotencyKey'];
    if (typeof key === 'string') {
      const list = acksByKey.get(key) ?? [];
      list.push({ jobId, created });
      acksByKey.set(key, list);
    }
  }

  // Idempotency: one job per key, told apart once as created.
  for (const [key, acks] of acksByKey) {
    const ids = new Set(acks.map((ack) => ack.jobId));
    const createdCount = acks.filter((ack) => ack.created).length;
    if (ids.size > 1 || createdCount > 1) {
      violations.push({
        property: 'idempotency',
        key,
        jobId: acks[0]?.jobId,
        message: `idempotency key ${key}: ${ids.size} job ids, ${createdCount} acknowledgements said created`,
      });
    }
  }
  for (const [key, withKey] of groupBy(final.jobs, (job) => job.idempotencyKey ?? undefined)) {
    if (withKey.length > 1)
      violations.push({
        property: 'idempotency',
        key,
        message: `${withKey.length} jobs carry idempotency key ${key}`,
      });
  }

  // Completions: at most one per job, by the trigger-recorded transitions, the run rows and the workers' events.
  const transitionsByJob = groupBy(final.transitions, (row) => row.jobId);
  const runsByJob = groupBy(final.runs, (row) => row.jobId);
  const completedEvents = groupBy(
    events.filter(
      (event): event is Extract<HistoryEvent, { kind: 'completed_event' }> =>
        event.kind === 'completed_event',
    ),
    (event) => event.jobId,
  );
  for (const job of final.jobs) {
    const transitions = transitionsByJob.get(job.id) ?? [];
    const completions = transitions.filter((row) => row.to === 'completed').length;
    const completedRuns = (runsByJob.get(job.id) ?? []).filter((run) => run.outcome === 'completed').length;
    const reported = completedEvents.get(job.id)?.length ?? 0;
    if (completions > 1 || completedRuns > 1 || reported > 1) {
      violations.push({
        property: 'completed_twice',
        jobId: job.id,
        message: `job ${job.id} completed ${Math.max(completions, completedRuns, reported)} times (state changes ${completions}, run rows ${completedRuns}, worker events ${reported})`,
      });
    }
    // Every state change follows the state machine.
    for (const row of transitions) {
      const reclaim = row.from === 'running' && row.to === 'running';
      if (reclaim || !ALLOWED_TRANSITIONS.get(row.from)?.has(row.to)) {
        violations.push({
          property: 'illegal_transition',
          jobId: job.id,
          message: `job ${job.id}: ${row.from ?? '(insert)'} -> ${row.to} (attempt ${row.attempt}) is not in the state machine`,
        });
      }
    }
    if (job.state === 'running') {
      violations.push({
        property: 'stranded',
        jobId: job.id,
        message: `job ${job.id} is still running after the run drained`,
      });
    }
  }
  for (const job of final.jobs) {
    if (job.state === 'queued')
      violations.push({
        property: 'stranded',
        jobId: job.id,
        message: `job ${job.id} is still queued after the run drained`,
      });
  }

  // Executions: each needs a claim of its own; one overlapped by a later execution must have lost its lease.
  const executions = new Map<string, Execution[]>();
  for (const event of events) {
    if (event.kind === 'exec_start') {
      const list = executions.get(event.jobId) ?? [];
      list.push({ start: event });
      executions.set(event.jobId, list);
    } else if (event.kind === 'exec_end') {
      const open = executions
        .get(event.jobId)
        ?.find(
          (run) =>
            run.end === undefined && run.start.attempt === event.attempt && run.start.proc === event.proc,
        );
      if (open) open.end = event;
    }
  }
  for (const [jobId, runs] of executions) {
    const claims = (transitionsByJob.get(jobId) ?? []).filter((row) => row.to === 'running').length;
    if (runs.length > claims) {
      violations.push({
        property: 'execution_without_claim',
        jobId,
        message: `job ${jobId} ran ${runs.length} times on ${claims} claims`,
      });
    }
    const lapsed = (runsByJob.get(jobId) ?? []).filter(
      (run) => run.outcome === 'lease_lapsed' || run.outcome === 'released',
    );
    // By attempt, not by start time: a worker stalled between its claim and its handler's start
    // (SIGSTOP, a black-holed reply) starts an earlier attempt after a later one began.
    const byAttempt = [...runs].sort((a, b) => a.start.attempt - b.start.attempt || a.start.t - b.start.t);
    for (const [index, run] of byAttempt.entries()) {
      for (const later of byAttempt.slice(index + 1)) {
        const overlapped =
          (run.end === undefined || run.end.t > later.start.t) &&
          (later.end === undefined || later.end.t > run.start.t);
        if (overlapped && !lapsed.some((row) => row.attempt === run.start.attempt)) {
          violations.push({
            property: 'unfenced_reexecution',
            jobId,
            message: `job ${jobId}: attempt ${run.start.attempt} on ${run.start.proc} overlapped attempt ${later.start.attempt} on ${later.start.proc}, and no lapsed or released run of attempt ${run.start.attempt} explains it`,
          });
        }
      }
    }
  }

  // Results, effects and resumption, by task.
  const checkpoints = events.filter(
    (event): event is Extract<HistoryEvent, { kind: 'checkpoint_saved' }> =>
      event.kind === 'checkpoint_saved',
  );
  const effectsByJob = groupBy(final.effects, (row) => row.jobId);
  for (const job of final.jobs) {
    const runs = executions.get(job.id) ?? [];
    if (job.state === 'completed' && job.task !== 'tick' && runs.length === 0 && payloads.has(job.id)) {
      violations.push({
        property: 'unrecorded_execution',
        jobId: job.id,
        message: `job ${job.id} completed but no execution of it is in the history`,
      });
    }
    const payload = payloads.get(job.id);
    if (job.state === 'completed' && payload !== undefined) {
      const expected =
        job.task === 'checkpointed' ? checkpointedResult(Number(payload['steps'])) : payload['n'];
      if (job.result !== expected) {
        violations.push({
          property: 'wrong_result',
          jobId: job.id,
          message: `job ${job.id} (${job.task}) completed with ${JSON.stringify(job.result)}, expected ${JSON.stringify(expected)}`,
        });
      }
    }
    if (job.task === 'transactional') {
      const effects = effectsByJob.get(job.id)?.length ?? 0;
      const expected = job.state === 'completed' ? 1 : 0;
      if (effects !== expected) {
        violations.push({
          property: 'effect_not_once',
          jobId: job.id,
          message: `transactional job ${job.id} is ${job.state} with ${effects} effect rows (expected ${expected})`,
        });
      }
    }
    if (job.task === 'fanout' && payload !== undefined) {
      // One ctx.enqueueMany writes all of a fan-out's children or none, each once per key across
      // attempts: a completed fan-out has every child, any other none or every one.
      const expected = Number(payload['children']);
      const keys = final.jobs
        .map((other) => other.idempotencyKey)
        .filter((key): key is string => key?.startsWith(`child:${job.id}:`) === true);
      const wanted = Array.from(
        { length: expected },
        (_, index) => `child:${job.id}:${fanoutChildKey(index)}`,
      );
      const complete = wanted.every((key) => keys.includes(key)) && keys.length === expected;
      if (!(complete || (keys.length === 0 && job.state !== 'completed'))) {
        violations.push({
          property: 'children_not_once',
          jobId: job.id,
          message: `fan-out job ${job.id} is ${job.state} with ${keys.length} of its ${expected} children`,
        });
      }
    }
    if (job.task === 'checkpointed') {
      // A claim reads the checkpoint, and the handler may start long after (a stalled process), so
      // time is no guide. Attempt numbers are: every save an earlier attempt had acknowledged was
      // committed before this attempt's claim (later saves of that attempt are fenced off).
      for (const run of runs) {
        const saved = checkpoints.filter(
          (event) => event.jobId === job.id && event.attempt < run.start.attempt,
        );
        const best = Math.max(0, ...saved.map((event) => event.next));
        if ((run.start.resumeFrom ?? 0) < best) {
          violations.push({
            property: 'checkpoint_not_resumed',
            jobId: job.id,
            message: `job ${job.id}: attempt ${run.start.attempt} started at step ${run.start.resumeFrom ?? 0} after an earlier attempt saved checkpoint ${best}`,
          });
        }
      }
    }
  }

  // Concurrency keys: when an execution of a key's job starts, fewer than the key's limit of the
  // others may still run with a valid lease. An execution that lost its lease (a lapsed or released
  // run row) gave its slot back when it was rescued or released, so it does not count. A handler
  // records its end before its outcome commits, and its start after its claim commits: both err
  // towards fewer overlaps, never more.
  const keyOf = new Map(final.jobs.map((job) => [job.id, job.concurrencyKey]));
  const lapsedAttempts = new Set(
    final.runs
      .filter((run) => run.outcome === 'lease_lapsed' || run.outcome === 'released')
      .map((run) => `${run.jobId}:${run.attempt}`),
  );
  const keyedExecutions = groupBy(
    [...executions.values()]
      .flat()
      .filter((run) => !lapsedAttempts.has(`${run.start.jobId}:${run.start.attempt}`)),
    (run) => keyOf.get(run.start.jobId) ?? undefined,
  );
  for (const [key, runs] of keyedExecutions) {
    runs.sort((a, b) => a.start.t - b.start.t);
    for (const [index, run] of runs.entries()) {
      const holders = runs
        .slice(0, index)
        .filter((other) => other.end === undefined || other.end.t > run.start.t);
      if (holders.length >= TENANT_LIMIT) {
        violations.push({
          property: 'key_over_limit',
          key,
          jobId: run.start.jobId,
          message: `concurrency key ${key} (limit ${TENANT_LIMIT}): job ${run.start.jobId} attempt ${run.start.attempt} started while ${holders.map((other) => `${other.start.jobId}/${other.start.attempt}`).join(', ')} still ran with valid leases`,
        });
      }
    }
  }
  // Slots: with nothing running after the drain, every key and queue counts none taken.
  for (const row of final.slotCounts) {
    if (row.inUse !== 0)
      violations.push({
        property: 'slot_leak',
        key: row.name,
        message: `${row.kind} ${row.name} counts ${row.inUse} slots taken after the run drained`,
      });
  }

  // Schedule slots: one ledger row per slot (the key), and an enqueued slot's job exists once.
  for (const [slot, rows] of groupBy(final.slots, (row) => `${row.scheduleId}:${row.slotKey}`)) {
    if (rows.length > 1)
      violations.push({
        property: 'slot_twice',
        key: slot,
        message: `slot ${slot} has ${rows.length} ledger rows`,
      });
  }
  const slotJobs = groupBy(final.jobs, (job) =>
    job.idempotencyKey?.startsWith('schedule:') ? job.idempotencyKey : undefined,
  );
  for (const row of final.slots) {
    if (row.status !== 'enqueued') continue;
    const key = `schedule:${row.scheduleId}:${row.slotKey}`;
    const found = slotJobs.get(key) ?? [];
    if (row.jobId === null || found.length !== 1 || found[0]?.id !== row.jobId) {
      violations.push({
        property: 'slot_twice',
        key,
        jobId: row.jobId ?? undefined,
        message: `slot ${row.scheduleId} ${row.slotKey} is enqueued as ${row.jobId ?? 'no job'} but ${found.length} jobs carry its key`,
      });
    }
  }
  return violations;
}

/** The smallest part of the history that shows a violation: the events and database rows of its job or key. */
export function violationExcerpt(
  violation: Violation,
  events: readonly HistoryEvent[],
  final: FinalState,
): string[] {
  const about = (text: string): boolean =>
    (violation.jobId !== undefined && text.includes(violation.jobId)) ||
    (violation.key !== undefined && text.includes(violation.key));
  const lines: string[] = [];
  const relatedOps = new Set<number>();
  for (const event of events) {
    const text = JSON.stringify(event);
    if (about(text) && (event.kind === 'op' || event.kind === 'ack' || event.kind === 'nack'))
      relatedOps.add(event.op);
  }
  for (const event of events) {
    const text = JSON.stringify(event);
    const isOp =
      (event.kind === 'op' || event.kind === 'ack' || event.kind === 'nack') && relatedOps.has(event.op);
    if (isOp || about(text)) lines.push(`history  ${new Date(event.t).toISOString()} ${text}`);
  }
  if (violation.jobId !== undefined) {
    const id = violation.jobId;
    for (const row of final.transitions.filter((t) => t.jobId === id))
      lines.push(`database transition ${row.from ?? '(insert)'} -> ${row.to} attempt ${row.attempt}`);
    for (const row of final.runs.filter((r) => r.jobId === id))
      lines.push(`database run attempt ${row.attempt} ${row.outcome}`);
    const job = final.jobs.find((j) => j.id === id);
    if (job) lines.push(`database job ${JSON.stringify(job)}`);
  }
  return lines;
}
