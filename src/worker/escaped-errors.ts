/**
 * Errors that escape a handler: a throw inside a timer or callback the handler started, a promise it
 * rejected and left unhandled. Node reports them on `process` ('uncaughtException',
 * 'unhandledRejection'), not to whoever started the work, and its default is to end the process: the
 * web app that embeds a worker would die for one job's bug.
 *
 * Every handler runs inside an AsyncLocalStorage scope naming its attempt. Node runs the listeners of
 * both events in the async context of what failed (the timer's callback, the rejected promise), so
 * the scope tells which job an escaped error belongs to:
 * - it belongs to a running attempt: that attempt fails with the error (reason `failed`, retried by
 *   the task's policy); its signal aborts with the error as reason; other jobs and the process go on;
 * - it belongs to an attempt that already ended: it is logged with the job's id and dropped;
 * - it belongs to no job (the application's own code, or nightshift's): nightshift does what Node
 *   would do without its listeners. When the application listens to the event itself, its listener
 *   handles the error and nightshift does nothing. Otherwise an uncaught exception ends the process
 *   as Node's default does (printed, exit code 1: nightshift removes its listeners and throws the
 *   error again), and an unhandled rejection is raised as an uncaught exception, as Node's default
 *   `--unhandled-rejections=throw` does.
 *
 * The listeners exist only while a worker runs (`holdEscapedErrors`, released at the worker's stop):
 * installing an 'uncaughtException' listener turns off Node's crash for the whole process, so it must
 * never outlive the workers that need it. Under `--unhandled-rejections=warn|none|...` rejections are
 * never fatal and nightshift leaves them to Node (in `strict` mode Node reports them as uncaught
 * exceptions first, where they are attributed).
 *
 * Limits: work started by a handler keeps its scope after the job ends (a pool or socket it opened
 * lazily still belongs to that job: its later errors are logged, not fatal). A throw inside
 * `queueMicrotask` loses its async context in Node 20 and is treated as belonging to no job.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';

/** What an escaped error is reported to: the attempt whose handler started the failing work. */
export interface EscapeTarget {
  escaped(error: unknown): void;
}

const scope = new AsyncLocalStorage<EscapeTarget>();
let holders = 0;
let listening = false;

/** Calls `handler(payload, ctx)` inside `target`'s scope: errors escaping from it are reported to it. */
export function runInScope<P, C, R>(
  target: EscapeTarget,
  handler: (payload: P, ctx: C) => R,
  payload: P,
  ctx: C,
): R {
  return scope.run(target, handler, payload, ctx);
}

/**
 * Installs the process listeners while at least one holder needs them; returns the release. Workers
 * hold them from start to stop.
 */
export function holdEscapedErrors(): () => void {
  holders += 1;
  if (!listening) listen();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Zero already when an error of no job is ending the process (onUncaughtException).
    if (holders > 0) holders -= 1;
    if (holders === 0 && listening) unlisten();
  };
}

/** True while nightshift listens for escaped errors (tests). */
export function listeningForEscapedErrors(): boolean {
  return listening;
}

// Only the default mode makes a rejection fatal through 'unhandledRejection'; `strict` raises it as
// an uncaught exception first, where the other listener attributes it.
const listensToRejections = rejectionMode() === 'throw';

function listen(): void {
  listening = true;
  process.on('uncaughtException', onUncaughtException);
  if (listensToRejections) process.on('unhandledRejection', onUnhandledRejection);
}

function unlisten(): void {
  listening = false;
  process.off('uncaughtException', onUncaughtException);
  process.off('unhandledRejection', onUnhandledRejection);
}

function onUncaughtException(error: unknown): void {
  const target = scope.getStore();
  if (target) return target.escaped(error);
  if (process.listenerCount('uncaughtException') > 1) return;
  // Node's default: print the error and exit 1. It can only be had with no listener installed, so
  // the listeners go and the error is thrown again from a fresh tick.
  holders = 0;
  unlisten();
  process.nextTick(() => {
    throw error;
  });
}

function onUnhandledRejection(reason: unknown): void {
  const target = scope.getStore();
  if (target) return target.escaped(reason);
  if (process.listenerCount('unhandledRejection') > 1) return;
  // Node's default: the rejection becomes an uncaught exception (the application's own listener for
  // those, if any, gets it; otherwise the process ends).
  process.nextTick(() => {
    throw reason instanceof Error ? reason : new UnhandledRejectionError(reason);
  });
}

/** A rejection with something other than an Error, raised as Node raises it. */
class UnhandledRejectionError extends Error {
  override readonly name = 'UnhandledPromiseRejection';
  readonly code = 'ERR_UNHANDLED_REJECTION';
  constructor(reason: unknown) {
    super(
      `This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${inspect(reason)}".`,
    );
  }
}

/** The `--unhandled-rejections` mode in force: the command line wins over NODE_OPTIONS. */
function rejectionMode(): string {
  const options = [...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/), ...process.execArgv];
  let mode = 'throw';
  for (const option of options) {
    if (option.startsWith('--unhandled-rejections=')) mode = option.slice('--unhandled-rejections='.length);
  }
  return mode;
}
