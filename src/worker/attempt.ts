/**
 * One attempt of one job inside a worker: runs the handler, enforces its timeout, watches its maximum
 * duration, and decides the outcome.
 *
 * The rule that keeps slots free: once an attempt is aborted (timeout, cancel, lease lost, shutdown)
 * its outcome is decided by the abort, and the handler gets at most `abortGraceMs` to stop (time to
 * save a checkpoint). A handler that ignores its signal or never settles is then left behind: its
 * slot is reused and anything it does later is ignored (its writes are fenced off by the store once
 * the outcome is written). The promise itself cannot be killed: JavaScript has no way to stop a
 * running function, so a busy loop still burns CPU until it returns.
 *
 * A handler that settles before any abort decides the outcome itself, even if an abort follows in
 * the same tick: its work is done.
 */
import { LeaseLostError } from '../errors.js';
import type { JobError } from '../job.js';
import { assertJson } from '../enqueue.js';
import type { ClaimedJob, JobFinish } from '../store/store.js';
import { JobCancelledError, JobTimeoutError, WorkerShutdownError } from './abort-reasons.js';
import { sleep } from './sleep.js';

/** Why an attempt was aborted. */
export type AbortKind = 'timeout' | 'cancel' | 'lease_lost' | 'shutdown';

/** How an attempt ended, before it is written. */
export type AttemptOutcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'failed'; error: JobError }
  | { kind: 'timeout'; error: JobError }
  | { kind: 'cancelled' }
  | { kind: 'released' }
  | { kind: 'lease_lost' };

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Stored error messages and stacks are capped so one runaway message cannot bloat a row. */
const MAX_ERROR_TEXT = 16_384;

/** A running attempt: its abort controller, its latest checkpoint, and its timers. */
export class RunningAttempt {
  readonly controller = new AbortController();
  /** Monotonic start, for durations. */
  readonly startedAt = performance.now();
  abortKind: AbortKind | null = null;
  /** Set once the lease is known lost: every write of this attempt is refused from then on. */
  leaseLost = false;
  /** Set once the outcome has been handed to the finisher. */
  finishSubmitted = false;
  maxDurationExceeded = false;
  /** Set once `ctx.complete` committed inside `ctx.transaction`: the outcome is already persisted. */
  committedFinish: JobFinish | null = null;
  /** The newest checkpoint this attempt asked to save (or the claimed one); a release writes it. */
  checkpoint: unknown;
  private readonly timers: NodeJS.Timeout[] = [];
  // Plain callbacks rather than two more AbortControllers per attempt: at tens of thousands of jobs a
  // second the allocations show up in profiles, and only aborted attempts ever need them.
  private resolveAborted: (() => void) | null = null;
  private graceCut: AbortController | null = null;

  constructor(
    readonly job: ClaimedJob,
    private readonly options: {
      timeoutMs: number | null;
      maxDurationMs: number | null;
      abortGraceMs: number;
      onMaxDuration: (attempt: RunningAttempt) => void;
    },
  ) {
    this.checkpoint = job.checkpoint;
  }

  /** The AbortSignal handed to the handler. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The lease reference fencing this attempt's writes. */
  get ref(): { id: string; leaseToken: string } {
    return { id: this.job.id, leaseToken: this.job.leaseToken };
  }

  /** Milliseconds since the attempt started. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Aborts the handler; the first abort decides the outcome, later ones are ignored. */
  abort(kind: AbortKind): void {
    if (this.abortKind !== null) return;
    this.abortKind = kind;
    this.controller.abort(reasonFor(kind, this.job.id, this.options.timeoutMs ?? this.elapsedMs()));
    this.resolveAborted?.();
  }

  /** Skips the rest of the abort grace (forced shutdown). */
  cutGrace(): void {
    (this.graceCut ??= new AbortController()).abort();
  }

  /** Runs the handler to an outcome. Never rejects. */
  async run(call: () => unknown): Promise<AttemptOutcome> {
    this.startTimers();
    // Promise.resolve().then turns a synchronous throw into a rejection like any other.
    const settled: Promise<Settled> = Promise.resolve()
      .then(call)
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const aborted = new Promise<null>((resolve) => {
      this.resolveAborted = () => resolve(null);
      if (this.abortKind !== null) resolve(null);
    });
    try {
      const first = await Promise.race([settled, aborted]);
      if (first) return this.fromSettled(first);
      this.graceCut ??= new AbortController();
      await Promise.race([settled, sleep(this.options.abortGraceMs, this.graceCut.signal)]);
      return this.fromAbort();
    } finally {
      for (const timer of this.timers) clearTimeout(timer);
    }
  }

  private startTimers(): void {
    const { timeoutMs, maxDurationMs } = this.options;
    if (timeoutMs !== null) this.timers.push(setTimeout(() => this.abort('timeout'), timeoutMs));
    if (maxDurationMs !== null) {
      this.timers.push(
        setTimeout(() => {
          this.maxDurationExceeded = true;
          this.options.onMaxDuration(this);
        }, maxDurationMs),
      );
    }
  }

  private fromSettled(settled: Settled): AttemptOutcome {
    if (!settled.ok) return { kind: 'failed', error: toJobError(settled.error, 'failed') };
    const result = settled.value === undefined ? null : settled.value;
    try {
      assertJson(result, 'handler result');
    } catch (error) {
      return { kind: 'failed', error: toJobError(error, 'failed') };
    }
    return { kind: 'completed', result };
  }

  private fromAbort(): AttemptOutcome {
    switch (this.abortKind) {
      case 'timeout':
        return { kind: 'timeout', error: toJobError(this.signal.reason, 'timeout') };
      case 'cancel':
        return { kind: 'cancelled' };
      case 'shutdown':
        return { kind: 'released' };
      default:
        return { kind: 'lease_lost' };
    }
  }
}

function reasonFor(kind: AbortKind, jobId: string, timeoutMs: number): Error {
  switch (kind) {
    case 'timeout':
      return new JobTimeoutError(timeoutMs);
    case 'cancel':
      return new JobCancelledError();
    case 'shutdown':
      return new WorkerShutdownError();
    case 'lease_lost':
      return new LeaseLostError(jobId);
  }
}

/** Turns anything a handler threw into a stored error with a message and a stack. */
export function toJobError(thrown: unknown, reason: JobError['reason']): JobError {
  if (thrown instanceof Error) {
    const error: JobError = { message: cap(thrown.message), name: thrown.name, reason };
    if (thrown.stack !== undefined) error.stack = cap(thrown.stack);
    return error;
  }
  // A thrown string or object has no stack of its own; record where nightshift caught it instead.
  const message = cap(`non-Error thrown: ${describe(thrown)}`);
  const error: JobError = { message, name: 'NonError', reason };
  const stack = new Error(message).stack;
  if (stack !== undefined) error.stack = cap(stack);
  return error;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function cap(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
