/**
 * Handler threads: the worker side of `isolation: 'thread'`. An isolated attempt's handler runs in a
 * worker thread of this pool (handler-thread.ts), one job per thread at a time, so whatever it does
 * ends at that thread:
 * - a crash the thread cannot catch (`process.exit`, out of memory past `resourceLimits`) ends the
 *   thread; the attempt fails (`HandlerThreadExitError`, `HandlerThreadOutOfMemoryError`, reason
 *   `failed`) and retries by the task's policy;
 * - an error escaping the handler in its thread fails the attempt, as in the worker's own thread;
 * - an attempt aborted (timeout, cancel, lease lost, shutdown) has its signal aborted in the thread;
 *   a handler still running after the abort grace is ended for real: its thread is terminated
 *   (`RunningAttempt.abandon`), which stops even a synchronous loop.
 *
 * Everything else of the attempt stays here: timers, the lease, the outcome. The handler's `ctx`
 * writes come as messages and are performed by the attempt's own `ctx`, fenced as usual
 * (protocol.ts says how values cross). Threads are kept for later jobs (a thread costs tens of
 * milliseconds to start and its module's first import); at most `maxThreads` exist, an idle thread
 * being ended to make room for one with other `resourceLimits`.
 */
import type { Worker as Thread, ResourceLimits } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import type { JobContext } from '../../task.js';
import type { RunningAttempt } from '../attempt.js';
import { moduleThread, siblingModule, withAcceptedOptions } from '../../runtime/module-thread.js';
import { fromWire, toWire, type FromThread, type StepAnswer, type ToThread } from './protocol.js';
import type { ThreadTarget } from './task-isolation.js';

/** A handler thread ended (`process.exit` in the handler, or its thread died) before the job settled. */
export class HandlerThreadExitError extends Error {
  override readonly name = 'HandlerThreadExitError';
  constructor(readonly exitCode: number) {
    super(`the handler's thread exited with code ${exitCode} before the job settled (the thread was ended)`);
  }
}

/** A handler thread went past its heap limit and was ended by Node. */
export class HandlerThreadOutOfMemoryError extends Error {
  override readonly name = 'HandlerThreadOutOfMemoryError';
  constructor(limits: ResourceLimits | null) {
    super(
      `the handler's thread ran out of memory (resourceLimits ${limits ? JSON.stringify(limits) : 'Node defaults'}) and was ended`,
    );
  }
}

const THREAD_URL = siblingModule('handler-thread', import.meta.url);

/** Starts a handler thread: the process's own options (preloads too, as Node's default), with its limits. */
function startThread(resourceLimits: ResourceLimits | null): Thread {
  return withAcceptedOptions(process.execArgv, (execArgv) =>
    moduleThread(THREAD_URL, { execArgv, ...(resourceLimits && { resourceLimits }) }),
  );
}

/** One job in a thread, until its handler settles or the thread ends. */
interface ActiveRun {
  readonly attempt: RunningAttempt;
  readonly ctx: JobContext;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Steps whose function the thread runs now, by call id. */
  readonly steps: Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>;
}

/** One handler thread. */
class HandlerThread {
  alive = true;
  private readonly thread: Thread;
  private active: ActiveRun | null = null;
  private death: Error | null = null;
  readonly exited: Promise<void>;

  /** `poolKey` and `limits`: the resource limits it was started with (task-isolation.ts). */
  constructor(
    readonly poolKey: string,
    private readonly limits: ResourceLimits | null,
    private readonly logger: Logger,
    onExit: (thread: HandlerThread) => void,
  ) {
    this.thread = startThread(limits);
    // An idle thread must never keep a process alive that has nothing else to do.
    this.thread.unref();
    this.thread.on('message', (message: FromThread) => this.onMessage(message));
    // Typed `unknown` by newer @types/node (the bench's): a thread may throw anything.
    this.thread.on(
      'error',
      (error: unknown) => (this.death = error instanceof Error ? error : new Error(String(error))),
    );
    this.exited = new Promise((resolve) => {
      this.thread.on('exit', (code) => {
        this.alive = false;
        this.end(this.crashError(code));
        onExit(this);
        resolve();
      });
    });
  }

  /**
   * Runs the attempt's job in this thread; settles with the handler's result or error. A thread runs
   * any task: the module and export travel with each job.
   */
  run(attempt: RunningAttempt, target: ThreadTarget, ctx: JobContext): Promise<unknown> {
    const { signal } = ctx;
    let forward: (() => void) | null = null;
    return new Promise<unknown>((resolve, reject) => {
      const active: ActiveRun = { attempt, ctx, resolve, reject, steps: new Map() };
      this.active = active;
      const { leaseToken: _token, traceContext: _trace, ...job } = attempt.job;
      const { url, exportName } = target;
      this.post({ type: 'run', url, exportName, job });
      forward = () => {
        if (this.active === active) this.post({ type: 'abort', reason: toWire(signal.reason) });
      };
      if (signal.aborted) forward();
      else signal.addEventListener('abort', forward, { once: true });
      attempt.abandon = () => void this.terminate();
    }).finally(() => {
      if (forward) signal.removeEventListener('abort', forward);
    });
  }

  /** Ends the thread now, whatever runs in it. */
  terminate(): Promise<void> {
    if (this.alive) {
      this.alive = false;
      this.end(new Error('the handler did not stop within its abort grace: its thread was ended'));
      void this.thread.terminate();
    }
    return this.exited;
  }

  private crashError(code: number): Error {
    const death: (Error & { code?: unknown }) | null = this.death;
    if (death?.code === 'ERR_WORKER_OUT_OF_MEMORY') return new HandlerThreadOutOfMemoryError(this.limits);
    return death ?? new HandlerThreadExitError(code);
  }

  /** Settles the run in progress, if any, with `error`. */
  private end(error: Error): void {
    const active = this.active;
    if (!active) return;
    this.active = null;
    for (const step of active.steps.values()) step.reject(error);
    active.reject(error);
  }

  private post(message: ToThread): void {
    if (this.alive) this.thread.postMessage(message);
  }

  private onMessage(message: FromThread): void {
    const active = this.active;
    switch (message.type) {
      case 'settled':
        if (!active) return;
        this.active = null;
        if (message.ok) active.resolve(JSON.parse(message.json));
        else active.reject(fromWire(message.error, active.attempt.job.id));
        return;
      case 'call':
        if (active) void this.answer(active, message);
        return;
      case 'step-done': {
        const step = active?.steps.get(message.id);
        if (!active || !step) return;
        active.steps.delete(message.id);
        if (message.ok) step.resolve(JSON.parse(message.json));
        else step.reject(fromWire(message.error, active.attempt.job.id));
        return;
      }
      case 'log':
        if (active) active.ctx.log(message.message, message.data);
        else this.logger.info(message.data ?? {}, message.message);
        return;
      case 'escaped':
        active?.attempt.escaped(fromWire(message.error, active.attempt.job.id));
        return;
      case 'stray':
        this.logger.warn(
          { err: fromWire(message.error, message.jobId ?? ''), jobId: message.jobId },
          'an error escaped a handler thread outside a running job; ignored',
        );
        return;
    }
  }

  /** Performs a `ctx` call of the thread's handler with the attempt's own `ctx`, and replies. */
  private async answer(active: ActiveRun, message: Extract<FromThread, { type: 'call' }>): Promise<void> {
    const { ctx } = active;
    const { id } = message;
    try {
      let value: unknown = null;
      switch (message.method) {
        case 'saveCheckpoint':
          await ctx.saveCheckpoint(JSON.parse(message.json));
          break;
        case 'heartbeat':
          await ctx.heartbeat();
          break;
        case 'enqueue':
          value = await ctx.enqueue(message.task, JSON.parse(message.json), message.options);
          break;
        case 'enqueueMany':
          value = await ctx.enqueueMany(
            message.items.map(({ task, json, options }) => ({
              task,
              payload: JSON.parse(json) as unknown,
              options,
            })),
          );
          break;
        case 'step': {
          let ran = false;
          const result = await ctx.step(message.name, () => {
            ran = true;
            return new Promise((resolve, reject) => {
              active.steps.set(id, { resolve, reject });
              this.post({ type: 'step-run', id });
            });
          });
          value = (ran ? { ran } : { ran, value: result }) satisfies StepAnswer;
          break;
        }
      }
      this.post({ type: 'reply', id, ok: true, value });
    } catch (error) {
      this.post({ type: 'reply', id, ok: false, error: toWire(error) });
    }
  }
}

/** The handler threads of one worker. */
export class HandlerThreadPool {
  private readonly threads = new Set<HandlerThread>();
  private readonly idle = new Map<string, HandlerThread[]>();

  constructor(
    private readonly maxThreads: number,
    private readonly logger: Logger,
  ) {}

  /** Runs an isolated attempt's handler in a thread; settles as the handler does. */
  async run(attempt: RunningAttempt, target: ThreadTarget, ctx: JobContext): Promise<unknown> {
    const thread = this.take(target);
    try {
      return await thread.run(attempt, target, ctx);
    } finally {
      if (thread.alive) this.idleList(thread.poolKey).push(thread);
    }
  }

  /** Ends every thread (after the worker's handlers are done or abandoned). */
  async stop(): Promise<void> {
    await Promise.all([...this.threads].map((thread) => thread.terminate()));
  }

  private take(target: ThreadTarget): HandlerThread {
    const reused = this.idleList(target.poolKey).pop();
    if (reused) return reused;
    if (this.threads.size >= this.maxThreads) {
      // Room for a thread with other limits: end the idle thread of another kind.
      for (const list of this.idle.values()) {
        const spare = list.pop();
        if (spare) {
          void spare.terminate();
          break;
        }
      }
    }
    const thread = new HandlerThread(target.poolKey, target.resourceLimits, this.logger, (ended) =>
      this.forget(ended),
    );
    this.threads.add(thread);
    return thread;
  }

  private forget(thread: HandlerThread): void {
    this.threads.delete(thread);
    const list = this.idle.get(thread.poolKey);
    const at = list?.indexOf(thread) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
  }

  private idleList(key: string): HandlerThread[] {
    let list = this.idle.get(key);
    if (!list) this.idle.set(key, (list = []));
    return list;
  }
}
