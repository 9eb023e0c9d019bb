/**
 * The body of a handler thread (see handler-threads.ts): runs one job at a time, given by the worker
 * as the task's module URL and export name, with a `ctx` whose writes travel to the worker as
 * messages (protocol.ts) and are performed there, fenced by the attempt's lease as always.
 *
 * What a handler here cannot do: `ctx.transaction` and `ctx.complete`, and `{ tx }` on any method (a
 * transaction is a database connection of the worker's thread); they reject with `invalid_argument`.
 *
 * Errors escaping the running handler (its own timer, a leaked rejection) are attributed to it
 * through an async scope, as in the worker's own thread (escaped-errors.ts): the worker fails the
 * attempt and aborts it; an error of no running job is reported for the log. The thread's listeners
 * keep it alive for the next job either way; a crash that cannot be caught (`process.exit`, out of
 * memory) ends the thread, and the worker fails the attempt.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { parentPort } from 'node:worker_threads';
import { checkEnqueueItem } from '../../enqueue.js';
import { EnqueueItemError, NightshiftError } from '../../errors.js';
import type { Job } from '../../job.js';
import { IN_TRANSACTION_KEYS, type Handler, type JobContext } from '../../task.js';
import { refuseUnknownKeys, requireArray } from '../../validation/known-keys.js';
import {
  fromWire,
  toJsonText,
  toWire,
  type ChildOnTheWire,
  type FromThread,
  type StepAnswer,
  type ToThread,
} from './protocol.js';

const port = parentPort;
if (!port) throw new Error('handler-thread must run as a worker thread');

/** One job's run in this thread. */
interface Run {
  readonly job: Job;
  readonly controller: AbortController;
  over: boolean;
}

const scope = new AsyncLocalStorage<Run>();
let current: Run | null = null;
let nextCallId = 1;
const pendingCalls = new Map<
  number,
  { resolve(value: unknown): void; reject(error: unknown): void; jobId: string }
>();
/** Step functions waiting for the worker's word that the step has no recorded result. */
const stepFunctions = new Map<number, { run: Run; fn: () => unknown; value?: unknown }>();
const handlers = new Map<string, Promise<Handler>>();

const post = (message: FromThread): void => port.postMessage(message);

const escaped = (error: unknown): void => {
  const run = scope.getStore();
  if (run && run === current && !run.over) post({ type: 'escaped', error: toWire(error) });
  else post({ type: 'stray', error: toWire(error), jobId: run?.job.id ?? null });
};
process.on('uncaughtException', escaped);
process.on('unhandledRejection', escaped);

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'run':
      void runJob(message.url, message.exportName, message.job);
      return;
    case 'abort':
      current?.controller.abort(fromWire(message.reason, current.job.id));
      return;
    case 'reply': {
      const call = pendingCalls.get(message.id);
      if (!call) return;
      pendingCalls.delete(message.id);
      if (message.ok) call.resolve(message.value);
      else call.reject(fromWire(message.error, call.jobId));
      return;
    }
    case 'step-run':
      void runStep(message.id);
      return;
  }
});

async function runJob(url: string, exportName: string, job: Job): Promise<void> {
  const run: Run = { job, controller: new AbortController(), over: false };
  current = run;
  let settled: FromThread;
  try {
    const handler = await loadHandler(url, exportName);
    const value: unknown = await scope.run(run, handler, job.payload, new ThreadContext(run));
    settled = { type: 'settled', ok: true, json: toJsonText(value, 'handler result', 'invalid_result') };
  } catch (error) {
    settled = { type: 'settled', ok: false, error: toWire(error) };
  }
  run.over = true;
  current = null;
  post(settled);
}

async function runStep(id: number): Promise<void> {
  const step = stepFunctions.get(id);
  if (!step) return;
  try {
    const value = await scope.run(step.run, step.fn);
    step.value = value;
    post({ type: 'step-done', id, ok: true, json: toJsonText(value, 'step result') });
  } catch (error) {
    post({ type: 'step-done', id, ok: false, error: toWire(error) });
  }
}

function call(
  run: Run,
  message: DistributiveOmit<Extract<FromThread, { type: 'call' }>, 'id'>,
  id = nextCallId++,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    pendingCalls.set(id, { resolve, reject, jobId: run.job.id });
    post({ ...message, id });
  });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function notHere(what: string): NightshiftError {
  return new NightshiftError(
    'invalid_argument',
    `${what} is not available to a handler isolated in a thread: a transaction is a connection of the worker's own thread`,
  );
}

/** The `ctx` of a handler in this thread. Methods are properties, so a handler may destructure them. */
class ThreadContext implements JobContext {
  readonly job: Readonly<Job>;
  readonly checkpoint: unknown;

  constructor(private readonly run: Run) {
    this.job = Object.freeze(run.job);
    this.checkpoint = run.job.checkpoint;
  }

  get signal(): AbortSignal {
    return this.run.controller.signal;
  }

  saveCheckpoint = async (value: unknown, options?: { tx: unknown }): Promise<void> => {
    if (options !== undefined) refuseUnknownKeys(options, IN_TRANSACTION_KEYS, 'ctx.saveCheckpoint option');
    if (options?.tx !== undefined) throw notHere('ctx.saveCheckpoint with { tx }');
    await call(this.run, { type: 'call', method: 'saveCheckpoint', json: toJsonText(value, 'checkpoint') });
  };

  step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const id = nextCallId++;
    const step: { run: Run; fn: () => unknown; value?: unknown } = { run: this.run, fn };
    stepFunctions.set(id, step);
    try {
      const answer = (await call(this.run, { type: 'call', method: 'step', name }, id)) as StepAnswer;
      // A step run now returns its function's own value, as in the worker's thread; a recorded one, what was stored.
      return (answer.ran ? step.value : answer.value) as T;
    } finally {
      stepFunctions.delete(id);
    }
  };

  heartbeat = async (): Promise<void> => {
    await call(this.run, { type: 'call', method: 'heartbeat' });
  };

  log = (message: string, data?: Record<string, unknown>): void => {
    try {
      post({ type: 'log', message, ...(data !== undefined && { data }) });
    } catch {
      // Data the structured clone cannot copy (functions, ...): the line still goes out.
      post({ type: 'log', message, data: { dataNotCloneable: true } });
    }
  };

  enqueue = async (
    task: string,
    payload: unknown,
    options: Parameters<JobContext['enqueue']>[2],
  ): Promise<{ id: string; created: boolean }> => {
    if (options?.tx !== undefined) throw notHere('ctx.enqueue with { tx }');
    const json = toJsonText(payload, 'payload');
    return (await call(this.run, { type: 'call', method: 'enqueue', task, json, options })) as {
      id: string;
      created: boolean;
    };
  };

  enqueueMany = async (
    items: Parameters<JobContext['enqueueMany']>[0],
    options?: Parameters<JobContext['enqueueMany']>[1],
  ): Promise<Array<{ id: string; created: boolean }>> => {
    if (options !== undefined) refuseUnknownKeys(options, IN_TRANSACTION_KEYS, 'ctx.enqueueMany option');
    if (options?.tx !== undefined) throw notHere('ctx.enqueueMany with { tx }');
    requireArray(items, 'ctx.enqueueMany items');
    // Payloads become JSON here, as a handler in the worker's thread would have them stored; the
    // rest of each item is checked by the worker.
    const wire = (items as readonly unknown[]).map((item, index): ChildOnTheWire => {
      try {
        checkEnqueueItem(item);
        return {
          task: item.task,
          json: toJsonText(item.payload, 'payload'),
          options: item.options as ChildOnTheWire['options'],
        };
      } catch (error) {
        if (error instanceof NightshiftError) throw new EnqueueItemError(index, error);
        throw error;
      }
    });
    return (await call(this.run, { type: 'call', method: 'enqueueMany', items: wire })) as Array<{
      id: string;
      created: boolean;
    }>;
  };

  transaction = (): Promise<never> => Promise.reject(notHere('ctx.transaction'));

  complete = (): Promise<never> => Promise.reject(notHere('ctx.complete'));
}

/**
 * The task's handler: the module's export, a task definition or a bare handler. A TypeScript module
 * this thread cannot import natively (no loader registered in it) loads through jiti, as config
 * files do.
 */
function loadHandler(url: string, exportName: string): Promise<Handler> {
  const key = `${exportName}\u0000${url}`;
  let loading = handlers.get(key);
  if (!loading) {
    loading = importModule(url).then((module) => handlerOf(module, url, exportName));
    handlers.set(key, loading);
  }
  return loading;
}

async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const { createJiti } = await import('jiti');
    return createJiti(url, { interopDefault: false }).import<Record<string, unknown>>(url);
  }
}

function handlerOf(module: Record<string, unknown>, url: string, exportName: string): Handler {
  const exported = module[exportName] as { handler?: unknown } | undefined;
  const handler = typeof exported === 'function' ? exported : exported?.handler;
  if (typeof handler !== 'function') {
    throw new NightshiftError(
      'config_error',
      `${url} has no export "${exportName}" that is a task (a defineTask result or a handler function)`,
    );
  }
  return handler as Handler;
}
