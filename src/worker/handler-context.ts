/**
 * Each handler runs in an async context of its own, derived from the context the worker was started
 * in, so what one job's handler puts in an `AsyncLocalStorage` never reaches another job's.
 *
 * Why: Node runs a callback in the async context of the code that scheduled it, and a worker starts
 * the next job from the end of the one before (its slot frees, the next buffered job starts there).
 * A store set by a handler with `AsyncLocalStorage#enterWith` (request-scoped loggers, some tracers)
 * changes the context the handler was called in, so every job the worker started after it saw the
 * store of the job before, on and on. A fresh resource per call takes those writes instead; it is
 * created in the worker's own context, so stores the application set around `startWorker` still
 * reach every job, as Node's propagation would have them.
 */
import { AsyncResource } from 'node:async_hooks';

/** Calls handlers, each in a context of its own forked from the one this was made in. */
export class HandlerContexts {
  /** The context the worker was started in. */
  private readonly base = new AsyncResource('nightshift.worker');

  /** Calls `run()` in a new context of its own and returns what it returns. */
  fork<T>(run: () => T): T {
    // Destroyed right after the synchronous call: the resource runs nothing else (what the call
    // scheduled has resources of its own), and a resource never destroyed would stay in the books of
    // any async_hooks destroy listener (an APM agent) for good.
    const own = this.base.runInAsyncScope(
      () => new AsyncResource('nightshift.handler', { requireManualDestroy: true }),
    );
    try {
      return own.runInAsyncScope(run);
    } finally {
      own.emitDestroy();
    }
  }
}
