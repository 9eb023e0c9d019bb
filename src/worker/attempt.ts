/**
 * One attempt of one job inside a worker: runs the handler, enforces its timeout, watches its maximum
 * duration, and decides the outcome.
 *
 * The rule that keeps slots free: once an attempt is aborted (timeout, cancel, lease lost, shutdown)
 * its outcome is decided by the abort, and the handler gets at most `abortGraceMs` to stop (time to
 * save a checkpoint). A handler that ignores its signal or never settles is then left behind: its
 * slot is reused and anything it does later is ignored (its writes are fenced off by the store once
 * the outcome is written). The promise itself cannot be killed: JavaScript has no way to stop a
 * running function, so a busy loop still burns CPU until it returns. A handler run in a thread
 * (isolation/) is the exception: `abandon` terminates its thread.
 *
 * A handler that settles before any abort decides the outcome itself, even if an abort follows in
 * the same tick: its work is done.
 *
 * An error that escapes the handler (a throw in its own timer, a rejection it leaked) is reported to
 * its attempt through the async scope the handler runs in (escaped-errors.ts): it aborts the attempt
 * like any other abort, and the attempt fails with that error.
 */
import { NightshiftError, NonRetryableError } from '../errors.js';
import type { JobError } from '../job.js';
import { assertJson } from '../enqueue.js';
import type { Span } from '@opentelemetry/api';
import type { ClaimedJob, JobFinish, LeaseRef } from '../store/store.js';
import type { Handler, JobContext } from '../task.js';
import type { ResolvedTask } from '../task-registry.js';
import { abortReason, type AbortKind } from './abort-reasons.js';
import { describeThrown } from './describe.js';
import { runInScope, type EscapeTarget } from './escaped-errors.js';
import { within } from '../runtime/sleep.js';

export type { AbortKind } from './abort-reasons.js';

/** How an attempt ended, before it is written. */
export type AttemptOutcome =
  | { kind: 'completed'; result: unknown }
  /** `retry: false`: the handler threw a `NonRetryableError`; the job fails whatever attempts remain. */
  | { kind: 'failed'; error: JobError; retry?: false }
  | { kind: 'timeout'; error: JobError }
  | { kind: 'cancelled' }
  /** `error` and `retryDelayMs`: a job handed back because this worker does not implement its task. */
  | { kind: 'released'; error?: JobError; retryDelayMs?: number }
  | { kind: 'lease_lost' };

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * What every attempt of one worker shares, given once instead of per attempt: at tens of thousands of
 * attempts a second, a fresh options object and closure each showed up in profiles.
 */
export interface AttemptHost {
  readonly abortGraceMs: number;
  /** The attempt has been running longer than its task's `maxDurationMs`. */
  maxDurationExceeded(attempt: RunningAttempt): void;
  /** An error escaped the attempt's handler after its outcome was decided. */
  escapedLate(attempt: RunningAttempt, error: unknown): void;
}

/** Stored error messages and stacks are capped so one runaway message cannot bloat a row. */
const MAX_ERROR_TEXT = 16_384;

const SETTLED: Promise<void> = Promise.resolve();
const toOk = (value: unknown): Settled => ({ ok: true, value });
const toFailed = (error: unknown): Settled => ({ ok: false, error });

/** A running attempt: its abort state, its latest checkpoint, and its timers. */
export class RunningAttempt implements EscapeTarget {
  /** Monotonic start, for durations. */
  readonly startedAt = performance.now();
  abortKind: AbortKind | null = null;
  /** Set once the lease is known lost: every write of this attempt is refused from then on. */
  leaseLost = false;
  /** Set once the attempt got a slot and its handler was called (or it failed as an unknown task). */
  started = false;
  /** Set once the outcome has been handed to the finisher. */
  finishSubmitted = false;
  /** When this worker began to hold the lease (lease-table.ts `sharedNow`). */
  heldAt = 0;
  /** Its slots (slot-set.ts): among the held attempts, the running ones, and in the keeper's table; -1: not there. */
  heldSlot = -1;
  runningSlot = -1;
  keeperSlot = -1;
  /**
   * The lease is current at least until then (`sharedNow` ms): the claim's or a renewal's send time
   * plus the lease, as the store counts it from later; renewals of the keeper thread are read from it.
   */
  leaseKnownUntil = 0;
  maxDurationExceeded = false;
  /** Set once `ctx.complete` committed inside `ctx.transaction`: the outcome is already persisted. */
  committedFinish: JobFinish | null = null;
  /** The newest checkpoint this attempt asked to save (or the claimed one); a release writes it. */
  checkpoint: unknown;
  /** The attempt's `nightshift.attempt` span, from the moment it runs until its outcome is persisted. */
  span: Span | null = null;
  /** Settles once the worker is done with this attempt's slot (shutdown waits for it). */
  done: Promise<void> = SETTLED;
  /**
   * Called when the attempt gives up on a handler that did not stop within its abort grace: a handler
   * run elsewhere (isolation/) is ended for real there.
   */
  abandon: (() => void) | null = null;
  /** Set once the outcome is decided: the handler settled, or the abort grace ran out. */
  private decided = false;
  // Created when the handler first reads `ctx.signal`, or at an abort: most handlers never read it,
  // and an AbortController plus its signal was the largest allocation per job.
  private controller: AbortController | null = null;
  private abortReason: unknown = null;
  private timers: NodeJS.Timeout[] | null = null;
  // Plain callbacks rather than two more AbortControllers per attempt: only aborted attempts need them.
  private resolveAborted: (() => void) | null = null;
  private graceCut: AbortController | null = null;

  /**
   * `task` is null for a task this process does not know; `timeoutMs` is the handler's time limit
   * (the job's, else the task's, else the worker's).
   */
  constructor(
    readonly job: ClaimedJob,
    readonly task: ResolvedTask | null,
    readonly timeoutMs: number,
    private readonly host: AttemptHost,
  ) {
    this.checkpoint = job.checkpoint;
  }

  /** The AbortSignal handed to the handler; already aborted when an abort came first. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortReason !== null) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** The lease reference fencing this attempt's writes. */
  get ref(): LeaseRef {
    return { id: this.job.id, leaseToken: this.job.leaseToken };
  }

  /** Milliseconds since the attempt started. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /**
   * Aborts the handler; the first abort decides the outcome, later ones are ignored. `error` is the
   * reason of an `error` abort.
   */
  abort(kind: AbortKind, error?: unknown): void {
    if (this.abortKind !== null) return;
    this.abortKind = kind;
    this.abortReason = kind === 'error' ? error : abortReason(kind, this.job.id, this.timeoutMs);
    this.controller?.abort(this.abortReason);
    this.resolveAborted?.();
  }

  /**
   * An error escaped the handler (escaped-errors.ts): while the attempt runs, it fails with it; once
   * its outcome is decided, the error is only reported. The same error may arrive through both
   * process events (`--unhandled-rejections=strict`); it counts once.
   */
  escaped(error: unknown): void {
    if (!this.decided && this.abortKind === null) this.abort('error', error);
    else if (this.abortKind !== 'error' || this.abortReason !== error) this.host.escapedLate(this, error);
  }

  /** Skips the rest of the abort grace (forced shutdown). */
  cutGrace(): void {
    (this.graceCut ??= new AbortController()).abort();
  }

  /**
   * Runs the handler to an outcome. Never throws or rejects. A synchronous handler (one that returns
   * anything but a thenable, or throws) has its outcome returned at once: no promise, no timers, no
   * microtask. The worker calls it only once every lease of the claim is held (see `Worker.begin`).
   */
  run(handler: Handler, ctx: JobContext): AttemptOutcome | Promise<AttemptOutcome> {
    const calledAt = performance.now();
    let value: unknown;
    try {
      value = runInScope(this, handler, this.job.payload, ctx);
    } catch (error) {
      this.decided = true;
      return this.abortKind === null ? this.fromSettled({ ok: false, error }) : this.fromAbort();
    }
    // A synchronous handler settled before any timer could fire: no timers, no race.
    if (!isThenable(value)) {
      this.decided = true;
      return this.abortKind === null ? this.fromValue(value) : this.fromAbort();
    }
    return this.race(value, performance.now() - calledAt);
  }

  /** The outcome of an asynchronous handler: its settlement, or an abort (timeout, cancel, ...) first. */
  private async race(value: PromiseLike<unknown>, spentMs: number): Promise<AttemptOutcome> {
    this.startTimers(spentMs);
    try {
      const settled = Promise.resolve(value).then(toOk, toFailed);
      const first = await this.untilSettledOrAborted(settled);
      if (first) return this.fromSettled(first);
      this.graceCut ??= new AbortController();
      let stopped = false;
      void settled.then(() => (stopped = true));
      await within(settled, this.host.abortGraceMs, this.graceCut.signal);
      if (!stopped) this.abandon?.();
      return this.fromAbort();
    } finally {
      this.decided = true;
      if (this.timers) for (const timer of this.timers) clearTimeout(timer);
    }
  }

  /** Resolves with the handler's settlement, or null when an abort comes first. */
  private untilSettledOrAborted(settled: Promise<Settled>): Promise<Settled | null> {
    return new Promise((resolve) => {
      if (this.abortKind !== null) {
        resolve(null);
        return;
      }
      this.resolveAborted = () => resolve(null);
      void settled.then(resolve);
    });
  }

  /** `spentMs`: how long the handler's synchronous part already ran, counted against both limits. */
  private startTimers(spentMs: number): void {
    const maxDurationMs = this.task?.maxDurationMs ?? null;
    this.timers = [setTimeout(() => this.abort('timeout'), Math.max(0, this.timeoutMs - spentMs))];
    if (maxDurationMs !== null) {
      this.timers.push(
        setTimeout(
          () => {
            this.maxDurationExceeded = true;
            this.host.maxDurationExceeded(this);
          },
          Math.max(0, maxDurationMs - spentMs),
        ),
      );
    }
  }

  private fromSettled(settled: Settled): AttemptOutcome {
    if (!settled.ok) {
      const error = toJobError(settled.error, 'failed');
      return settled.error instanceof NonRetryableError
        ? { kind: 'failed', error, retry: false }
        : { kind: 'failed', error };
    }
    return this.fromValue(settled.value);
  }

  /** The outcome of a handler that returned (or resolved to) `value`. */
  private fromValue(value: unknown): AttemptOutcome {
    const result = value === undefined ? null : value;
    if (result === null) return { kind: 'completed', result };
    try {
      // A result JSON cannot hold fails like one the result schema refuses: the handler's fault.
      assertJson(result, 'handler result', 'invalid_result');
    } catch (error) {
      return { kind: 'failed', error: toJobError(error, 'failed') };
    }
    return { kind: 'completed', result };
  }

  private fromAbort(): AttemptOutcome {
    switch (this.abortKind) {
      case 'timeout':
        return { kind: 'timeout', error: toJobError(this.abortReason, 'timeout') };
      case 'cancel':
        return { kind: 'cancelled' };
      case 'shutdown':
        return { kind: 'released' };
      case 'error':
        return { kind: 'failed', error: toJobError(this.abortReason, 'failed') };
      default:
        return { kind: 'lease_lost' };
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Turns anything a handler threw into a stored error with a message and a stack. */
export function toJobError(thrown: unknown, reason: JobError['reason']): JobError {
  if (thrown instanceof Error) {
    const error: JobError = { message: cap(thrown.message), name: thrown.name, reason };
    if (thrown instanceof NightshiftError) error.code = thrown.code;
    if (thrown.stack !== undefined) error.stack = cap(thrown.stack);
    return error;
  }
  // A thrown string or object has no stack of its own; record where nightshift caught it instead.
  const message = cap(`non-Error thrown: ${describeThrown(thrown)}`);
  const error: JobError = { message, name: 'NonError', reason };
  const stack = new Error(message).stack;
  if (stack !== undefined) error.stack = cap(stack);
  return error;
}

function cap(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
