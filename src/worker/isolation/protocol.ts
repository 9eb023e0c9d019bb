/**
 * Messages between a worker and its handler threads, and how values and errors cross.
 *
 * The rule for values: what the job stores crosses as JSON text made in the sending thread (a
 * handler's result, a checkpoint, a step result, a child job's payload), so a value is stored exactly
 * as it would be from a handler run in the worker's own thread (`toJSON`, dropped `undefined`s, the
 * same errors for what JSON cannot hold). The job and its payload arrive as they were read from the
 * database; everything else (log data, options) is structured-cloned.
 *
 * Errors cross as their name, message, stack and nightshift code, and are rebuilt on the other side
 * as the same classes where nightshift owns them (`LeaseLostError`, `NightshiftError`, the abort
 * reasons), so `error instanceof LeaseLostError` and `signal.reason instanceof JobTimeoutError` hold
 * in a thread as they do in the worker's own thread.
 */
import { checkedJsonText } from '../../enqueue.js';
import { EnqueueItemError, LeaseLostError, NightshiftError, type ErrorCode } from '../../errors.js';
import type { Job } from '../../job.js';
import type { ChildEnqueueItem, ChildEnqueueOptions } from '../../task.js';
import { JobCancelledError, JobTimeoutError, WorkerShutdownError } from '../abort-reasons.js';
import { describeThrown } from '../describe.js';

/** An error as it crosses between threads. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: ErrorCode;
  timeoutMs?: number;
  /** Set for an `EnqueueItemError`: the refused item's place; `message` is then its cause's. */
  index?: number;
  /** Set for a thrown value that is not an Error: its description. */
  nonError?: boolean;
}

/** The context methods a thread asks the worker to perform. */
export type CallMethod = 'saveCheckpoint' | 'step' | 'heartbeat' | 'enqueue' | 'enqueueMany';

/** Worker to thread. */
export type ToThread =
  | { type: 'run'; url: string; exportName: string; job: Job }
  | { type: 'abort'; reason: WireError }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  /** The step the thread asked about has no recorded result: run its function now. */
  | { type: 'step-run'; id: number };

/** Thread to worker. */
export type FromThread =
  | { type: 'call'; id: number; method: 'saveCheckpoint'; json: string }
  | { type: 'call'; id: number; method: 'step'; name: string }
  | { type: 'call'; id: number; method: 'heartbeat' }
  | { type: 'call'; id: number; method: 'enqueue'; task: string; json: string; options: ChildEnqueueOptions }
  | { type: 'call'; id: number; method: 'enqueueMany'; items: ChildOnTheWire[] }
  | { type: 'step-done'; id: number; ok: true; json: string }
  | { type: 'step-done'; id: number; ok: false; error: WireError }
  | { type: 'log'; message: string; data?: Record<string, unknown> }
  /** An error escaped the running handler (its own timer, a leaked rejection). */
  | { type: 'escaped'; error: WireError }
  /** An error escaped code of no running job (a module's top level, a job that already ended). */
  | { type: 'stray'; error: WireError; jobId: string | null }
  | { type: 'settled'; ok: true; json: string }
  | { type: 'settled'; ok: false; error: WireError };

/** A child of `ctx.enqueueMany` as it crosses: its payload as JSON text, its options cloned. */
export interface ChildOnTheWire {
  task: string;
  json: string;
  options: ChildEnqueueItem['options'];
}

/** The answer to a `step` call. */
export type StepAnswer = { ran: true } | { ran: false; value: unknown };

/**
 * `value` as JSON text, `undefined` as null; `code` when JSON cannot hold it faithfully,
 * with the message a handler in the worker's own thread would get.
 */
export function toJsonText(
  value: unknown,
  what: string,
  code?: 'invalid_payload' | 'invalid_result',
): string {
  return checkedJsonText(value === undefined ? null : value, what, code);
}

/** An error (or any thrown value) ready to cross. */
export function toWire(thrown: unknown): WireError {
  if (!(thrown instanceof Error)) {
    return { name: 'NonError', message: describeThrown(thrown), nonError: true };
  }
  const wire: WireError = { name: thrown.name, message: thrown.message };
  if (thrown.stack !== undefined) wire.stack = thrown.stack;
  if (thrown instanceof NightshiftError) wire.code = thrown.code;
  if (thrown instanceof EnqueueItemError && thrown.cause instanceof Error) {
    wire.index = thrown.index;
    wire.message = thrown.cause.message;
  }
  if (thrown instanceof JobTimeoutError) wire.timeoutMs = thrown.timeoutMs;
  return wire;
}

/**
 * The error a `WireError` describes, as the same class where nightshift owns it; a non-Error as its
 * description. `jobId`: the job the error is about (a lease loss names it).
 */
export function fromWire(wire: WireError, jobId: string): unknown {
  if (wire.nonError) return wire.message;
  let error: Error;
  if (wire.name === 'JobTimeoutError' && wire.timeoutMs !== undefined)
    error = new JobTimeoutError(wire.timeoutMs);
  else if (wire.name === 'JobCancelledError') error = new JobCancelledError();
  else if (wire.name === 'WorkerShutdownError') error = new WorkerShutdownError();
  else if (wire.code === 'lease_lost') error = new LeaseLostError(jobId);
  else if (wire.code !== undefined && wire.index !== undefined)
    error = new EnqueueItemError(wire.index, new NightshiftError(wire.code, wire.message));
  else if (wire.code !== undefined) error = new NightshiftError(wire.code, wire.message);
  else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}
