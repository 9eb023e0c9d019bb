/**
 * A service whose database stops answering exits 1 with its one error line once the configured outage
 * bound (config `worker.maxStoreDownMs`) has passed, on a connection that is black-holed rather than
 * closed (a host gone, a partition): the case where calls already sent never come back.
 *
 * - `nightshift worker` printed its error only about a minute after giving up: closing waited for the
 *   black-holed calls to reach their statement timeout.
 * - `nightshift scheduler` took the config's bound while waiting for the database at start, but once
 *   running gave up only after its own default of 60 s.
 * - `nightshift scheduler` and `start` whose database went silent during the config schedule sync
 *   waited for the sync's query timeout (65 s); `start` gave its scheduler the 60 s default bound.
 *
 * SIGTERM to a worker on a black-holed database exits within its grace period, its shutdown deadline
 * for writes (`flushTimeoutMs`) and the store's bound on closing (5 s), and says how many outcomes it
 * could not write. It took 68 s with a 2 s grace: each wait after the grace had a deadline of its own,
 * and closing waited for every unanswered call's 65 s timeout, so a supervisor's kill (Kubernetes:
 * 30 s) came first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BlackholeProxy } from '../postgres/blackhole-proxy.js';
import { waitUntil } from '../support/wait-until.js';
import { createBlackholedDatabase, type BlackholedDatabase } from './blackholed-database.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const MAX_STORE_DOWN_MS = 2_000;
/** Far past the bound and the close that follows it, far short of the default 60 s statement timeout. */
const EXIT_WITHIN_MS = 40_000;

const GRACE_MS = 1_000;
const FLUSH_TIMEOUT_MS = 2_000;
/** Grace, writes and the store's 5 s close add up to 8 s; the old shutdown took over a minute. */
const SIGNAL_EXIT_WITHIN_MS = 25_000;

const dir = tempDir('nightshift-outage-');
writeBasicConfig(dir, { worker: { maxStoreDownMs: MAX_STORE_DOWN_MS } });
/** The default outage bound (60 s), so the signal, not the bound, ends the worker. */
const signalDir = tempDir('nightshift-signal-outage-');
writeBasicConfig(signalDir, { worker: { graceMs: GRACE_MS, flushTimeoutMs: FLUSH_TIMEOUT_MS } });
let database: BlackholedDatabase;
let proxy: BlackholeProxy;
let proxiedUrl: string;

beforeAll(async () => {
  database = await createBlackholedDatabase(dir);
  ({ proxy, proxiedUrl } = database);
});

afterAll(async () => {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(signalDir, { recursive: true, force: true });
});

describe('a service whose database is black-holed past worker.maxStoreDownMs', () => {
  it('worker and scheduler exit 1 with one line naming the bound', async () => {
    const services = ['worker', 'scheduler'].map((command) => {
      const child = spawnCli([command, '--db', proxiedUrl], { cwd: dir });
      let stderr = '';
      child.stdout.resume();
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      return { command, child, exited, stderr: () => stderr };
    });
    try {
      for (const service of services) {
        await waitUntil(() => /"msg":"(serving tasks|scheduler running)"/.test(service.stderr()), {
          timeoutMs: 30_000,
          message: () => `${service.command} to start (stderr: ${service.stderr()})`,
        });
      }
      proxy.blackhole(true);
      for (const service of services) {
        const code = await Promise.race([
          service.exited,
          sleep(EXIT_WITHIN_MS).then(() => 'still running' as const),
        ]);
        expect(code, `${service.command}: ${service.stderr()}`).toBe(1);
        const lastLine = service.stderr().trimEnd().split('\n').at(-1);
        expect(lastLine).toMatch(
          new RegExp(
            `^nightshift: store (unavailable|call from \\w+ unanswered) for more than ${MAX_STORE_DOWN_MS} ms`,
          ),
        );
      }
    } finally {
      proxy.blackhole(false);
      for (const { child } of services)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('a service whose database goes silent while it syncs the config schedules at start', () => {
  it('scheduler and start exit 1 at worker.maxStoreDownMs, naming the unanswered call', async () => {
    // The sync sends the schedule ids; the proxy goes silent at the first bytes naming this one.
    const marker = 'silent-at-start-sync';
    const syncDir = tempDir('nightshift-sync-outage-');
    writeBasicConfig(syncDir, {
      worker: { maxStoreDownMs: MAX_STORE_DOWN_MS },
      schedules: [{ id: marker, task: 'echo', cron: '* * * * *' }],
    });
    const services = await Promise.all(
      [['scheduler'], ['start', '--port', '0']].map(async (args) => {
        const route = await database.openRoute();
        route.proxy.blackholeWhenSent(marker);
        const child = spawnCli([...args, '--db', route.url], { cwd: syncDir });
        let stderr = '';
        child.stdout.resume();
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        return { command: args[0], route, child, exited, stderr: () => stderr };
      }),
    );
    try {
      for (const service of services) {
        // Before, the sync waited for its query timeout (65 s), and `start` for the scheduler's own
        // default bound (60 s) rather than the config's.
        const code = await Promise.race([
          service.exited,
          sleep(EXIT_WITHIN_MS).then(() => 'still running' as const),
        ]);
        expect(code, `${service.command}: ${service.stderr()}`).toBe(1);
        expect(service.stderr()).not.toMatch(/"msg":"(serving tasks|scheduler running)"/);
        expect(service.stderr().trimEnd().split('\n').at(-1)).toBe(
          `nightshift: store call from scheduler unanswered for more than ${MAX_STORE_DOWN_MS} ms`,
        );
      }
    } finally {
      for (const { route, child } of services) {
        route.proxy.blackhole(false);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(syncDir, { recursive: true, force: true });
    }
  });
});

describe('SIGTERM to a worker whose database is black-holed', () => {
  it('exits within grace, write deadline and close bound, naming the outcome it could not write', async () => {
    const child = spawnCli(['worker', '--db', proxiedUrl], { cwd: signalDir });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitUntil(() => stderr.includes('"msg":"serving tasks"'), {
        timeoutMs: 30_000,
        message: () => `the worker to start (stderr: ${stderr})`,
      });
      const enqueued = await runCli(['enqueue', 'slow', '--payload', '{"ms":60000}', '--db', database.url], {
        cwd: signalDir,
      });
      expect(enqueued.code, enqueued.stderr).toBe(0);
      const id = enqueued.stdout.trim();
      await waitUntil(
        async () => {
          const shown = await runCli(['jobs', 'show', id, '--json', '--db', database.url], { cwd: dir });
          return (JSON.parse(shown.stdout) as { job: { state: string } }).job.state === 'running';
        },
        { timeoutMs: 15_000, message: () => `job ${id} to run` },
      );
      proxy.blackhole(true);
      const signalledAt = performance.now();
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        sleep(SIGNAL_EXIT_WITHIN_MS).then(() => 'still running' as const),
      ]);
      expect(code, stderr).toBe(0);
      expect(performance.now() - signalledAt).toBeLessThan(SIGNAL_EXIT_WITHIN_MS);
      // The aborted job's release was sent and never answered: it is counted, not reported as 0.
      expect(stderr).toMatch(
        /"unpersisted":1,"msg":"shutdown deadline passed before every outcome was written/,
      );
      expect(stderr).toContain('closing: calls still unanswered on these connections; cut them');
    } finally {
      proxy.blackhole(false);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
