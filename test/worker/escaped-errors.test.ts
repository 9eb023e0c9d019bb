/**
 * Errors that escape a handler, in an application that embeds a worker (`ns.startWorker()` in its own
 * process, no CLI): they fail their own job and never the process; the application's own errors
 * still end it as Node's default does, unless it listens for them itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listeningForEscapedErrors } from '../../src/worker/escaped-errors.js';
import { startChild } from '../support/child-process.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { BACKEND, engineEnv, FAST_WORKER } from './engine-harness.js';

const APP = new URL('./fixtures/embedded-app.ts', import.meta.url);
const env = engineEnv();
// Each test starts a Node process that loads the engine: seconds on a loaded machine.
vi.setConfig({ testTimeout: 120_000 });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A fresh database for one child: its URL and PostgreSQL schema (`-` on SQLite). */
async function database(): Promise<[string, string]> {
  if (BACKEND === 'postgres') {
    const { TEST_PG_URL, uniqueSchema, dropSchema } = await import('../support/postgres-harness.js');
    const schema = uniqueSchema('escaped');
    cleanups.push(() => dropSchema(schema));
    return [TEST_PG_URL, schema];
  }
  const file = tempSqliteFile();
  cleanups.push(() => file.remove());
  return [`sqlite:${file.path}`, '-'];
}

async function runApp(mode: string): Promise<{ code: number | null; lines: unknown[]; stderr: string }> {
  const child = startChild(APP, [mode, ...(await database())]);
  cleanups.push(() => void child.process.kill('SIGKILL'));
  // The exit code is what these tests read; `done` would reject on the expected crashes.
  child.done.catch(() => undefined);
  const code = await child.exited;
  return { code, lines: child.lines.map((line) => JSON.parse(line) as unknown), stderr: child.stderr() };
}

describe('errors escaping a handler in an embedding application', () => {
  it('fail their own attempt, retried by policy, and the process and other jobs carry on', async () => {
    const { code, lines, stderr } = await runApp('jobs');
    expect(code, stderr).toBe(0);
    const ended = (task: string): unknown => lines.find((line) => (line as { task?: string }).task === task);
    expect(ended('timerThrow')).toMatchObject({
      state: 'failed',
      attempt: 2,
      error: { message: 'thrown in setTimeout', name: 'Error', reason: 'failed' },
    });
    // The handler's signal aborted with the escaped error, on each attempt.
    expect(lines).toContainEqual({ signalReason: 'thrown in setTimeout', attempt: 1 });
    expect(lines).toContainEqual({ signalReason: 'thrown in setTimeout', attempt: 2 });
    expect(ended('leak')).toMatchObject({
      state: 'failed',
      attempt: 1,
      error: { message: 'leaked rejection', reason: 'failed' },
    });
    expect(ended('lateThrow')).toMatchObject({ state: 'completed', result: 'completed first' });
    expect(lines).toContainEqual({ task: 'ok', state: 'completed', attempt: 1, result: 42, error: null });
    // An error from a job that already ended is logged with its job, not fatal.
    expect(stderr).toContain('thrown after the job completed');
    expect(stderr).toContain('an error escaped a job after its attempt ended');
    // Listening only while the worker runs: Node's own crash behaviour is back after stop.
    expect(lines).toContainEqual({ phase: 'running', listeners: { uncaught: 1, rejection: 1 } });
    expect(lines).toContainEqual({ phase: 'stopped', listeners: { uncaught: 0, rejection: 0 } });
  });

  it('leave the application’s own uncaught exception fatal, as Node’s default is', async () => {
    const { code, lines, stderr } = await runApp('app-error');
    expect(code).toBe(1);
    expect(stderr).toContain('Error: the application’s own bug');
    expect(lines).not.toContainEqual({ after: 3 });
  });

  it('leave the application’s own unhandled rejection fatal, as Node’s default is', async () => {
    const { code, lines, stderr } = await runApp('app-rejection');
    expect(code).toBe(1);
    expect(stderr).toContain('Error: the application’s own rejection');
    expect(lines).not.toContainEqual({ after: 3 });
  });

  it('leave the application’s own errors to its own listener when it has one', async () => {
    const { code, lines, stderr } = await runApp('app-listener');
    expect(code, stderr).toBe(0);
    expect(lines).toContainEqual({ appHandled: 'the application’s own bug' });
    expect(lines).toContainEqual({ after: 3 });
  });
});

describe('the escaped-error listeners', () => {
  it('are installed while any worker of the process runs, and removed when the last one stops', async () => {
    const ns = await env.connect({ tasks: { t: () => 1 } });
    const peer = await env.connectPeer(ns, { tasks: { t: () => 1 } });
    expect(listeningForEscapedErrors()).toBe(false);
    const first = ns.startWorker(FAST_WORKER);
    const second = peer.startWorker(FAST_WORKER);
    expect(listeningForEscapedErrors()).toBe(true);
    await first.stop();
    expect(listeningForEscapedErrors()).toBe(true);
    await first.stop();
    expect(listeningForEscapedErrors()).toBe(true);
    await second.stop();
    expect(listeningForEscapedErrors()).toBe(false);
  });
});
