/**
 * The tasks of the torture workload. Each handler records its start before doing anything and its end
 * before returning, so the history shows every execution a worker began, including the ones a kill cut
 * short. Payloads say what a handler does, so the checker knows the expected outcome of each job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { defineTask, type TaskMap } from '../../src/task.js';
import type { HistoryWriter } from './history.js';

/** The lease every torture task uses: short, so faults past it happen often. */
export const TORTURE_LEASE_MS = 2_000;

/** Retries come quickly, so a run drains soon after its workload stops. */
const backoff = { baseMs: 200, maxMs: 2_000, jitter: 0.2 };

/** `quick` and `slow`: sleep `ms`, return `n`. */
export interface SleepPayload {
  n: number;
  ms: number;
}

/** `flaky`: throws on every attempt up to `failUntil`, then returns `n`. */
export interface FlakyPayload {
  n: number;
  failUntil: number;
}

/** `checkpointed`: `steps` steps of `ms` each; step i adds i * i; a checkpoint after each. */
export interface CheckpointPayload {
  steps: number;
  ms: number;
}

/** `transactional`: writes one effect row and completes in the same transaction. */
export interface TransactionalPayload {
  n: number;
}

/** `fanout`: enqueues `children` quick jobs in one `ctx.enqueueMany`, keyed c0..c(n-1), then sleeps `ms`. */
export interface FanoutPayload {
  n: number;
  children: number;
  ms: number;
}

/** The key a `fanout` job gives its child number `index`. */
export function fanoutChildKey(index: number): string {
  return `c${index}`;
}

/** What a finished `checkpointed` job returns: the same as a run without interruptions. */
export function checkpointedResult(steps: number): number {
  let sum = 0;
  for (let i = 0; i < steps; i += 1) sum += i * i;
  return sum;
}

interface Progress {
  next: number;
  sum: number;
}

/** The job fields an execution's records name. */
interface ExecutedJob {
  id: string;
  attempt: number;
  task: string;
}

/** The torture tasks, recording into `history`; `backend` says how to write the effect row. */
export function tortureTasks(history: HistoryWriter, backend: 'sqlite' | 'postgres'): TaskMap {
  /**
   * Records the execution's start, runs `work`, and records its end: `aborted` when it threw (the
   * error goes on), else `returned`. `resumeFrom`: the checkpoint step the execution starts at.
   */
  const recorded = async <T>(job: ExecutedJob, work: () => Promise<T>, resumeFrom?: number): Promise<T> => {
    const { id, attempt, task } = job;
    history.record({
      kind: 'exec_start',
      jobId: id,
      task,
      attempt,
      ...(resumeFrom !== undefined && { resumeFrom }),
    });
    let value: T;
    try {
      value = await work();
    } catch (error) {
      history.record({ kind: 'exec_end', jobId: id, attempt, outcome: 'aborted' });
      throw error;
    }
    history.record({ kind: 'exec_end', jobId: id, attempt, outcome: 'returned' });
    return value;
  };
  const sleepHandler = (payload: SleepPayload, ctx: { job: ExecutedJob; signal: AbortSignal }) =>
    recorded(ctx.job, async () => {
      await sleep(payload.ms, undefined, { signal: ctx.signal });
      return payload.n;
    });
  return {
    quick: defineTask<SleepPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 4,
      backoff,
      handler: sleepHandler,
    }),
    slow: defineTask<SleepPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 6,
      backoff,
      handler: sleepHandler,
    }),
    tick: defineTask<SleepPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 4,
      backoff,
      handler: sleepHandler,
    }),
    flaky: defineTask<FlakyPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 4,
      backoff,
      handler: (payload, ctx) => {
        const { id, attempt, task } = ctx.job;
        history.record({ kind: 'exec_start', jobId: id, task, attempt });
        const outcome = attempt <= payload.failUntil ? 'threw' : 'returned';
        history.record({ kind: 'exec_end', jobId: id, attempt, outcome });
        if (outcome === 'threw') throw new Error(`planned failure of attempt ${attempt}`);
        return payload.n;
      },
    }),
    checkpointed: defineTask<CheckpointPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 8,
      backoff,
      handler: (payload, ctx) => {
        const { id, attempt } = ctx.job;
        const progress = (ctx.checkpoint as Progress | undefined) ?? { next: 0, sum: 0 };
        return recorded(
          ctx.job,
          async () => {
            for (let i = progress.next; i < payload.steps; i += 1) {
              await sleep(payload.ms, undefined, { signal: ctx.signal });
              progress.sum += i * i;
              progress.next = i + 1;
              await ctx.saveCheckpoint({ ...progress });
              history.record({ kind: 'checkpoint_saved', jobId: id, attempt, next: progress.next });
            }
            return progress.sum;
          },
          progress.next,
        );
      },
    }),
    fanout: defineTask<FanoutPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 4,
      backoff,
      handler: (payload, ctx) =>
        recorded(ctx.job, async () => {
          // A re-run after a kill finds the children its earlier attempt wrote (created: false).
          await ctx.enqueueMany(
            Array.from({ length: payload.children }, (_, index) => ({
              task: 'quick',
              payload: { n: index, ms: 5 },
              options: { key: fanoutChildKey(index) },
            })),
          );
          await sleep(payload.ms, undefined, { signal: ctx.signal });
          return payload.n;
        }),
    }),
    transactional: defineTask<TransactionalPayload, number>({
      leaseMs: TORTURE_LEASE_MS,
      maxAttempts: 4,
      backoff,
      handler: (payload, ctx) => {
        const { id, attempt } = ctx.job;
        return recorded(ctx.job, async () => {
          await ctx.transaction(async (tx) => {
            if (backend === 'sqlite') {
              (tx as Database)
                .prepare('INSERT INTO torture_effects (job_id, attempt) VALUES (?, ?)')
                .run(id, attempt);
            } else {
              await (tx as pg.PoolClient).query(
                'INSERT INTO public.torture_effects (job_id, attempt) VALUES ($1, $2)',
                [id, attempt],
              );
            }
            await ctx.complete(payload.n, { tx });
          });
          return payload.n;
        });
      },
    }),
  };
}
