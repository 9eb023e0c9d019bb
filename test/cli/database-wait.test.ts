/**
 * `worker`, `scheduler` and `start` launched while PostgreSQL is down wait for it, with backoff, up to
 * the worker's `maxStoreDownMs`, saying so in the log; past that they give up with one clear line and
 * exit code 1. Against a closed port, and against a server of the test's own that starts only after
 * the commands did.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { waitForDatabase } from '../../src/cli/database-wait.js';
import { NightshiftError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import {
  ownPostgresUnavailable,
  sparePort,
  startOwnPostgres,
  type OwnPostgres,
} from '../support/own-postgres.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCliMany, spawnCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: 2 * CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dirs: string[] = [];
let server: OwnPostgres | undefined;
let store: Store | undefined;

afterAll(async () => {
  await store?.close();
  await server?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function configDir(maxStoreDownMs: number): string {
  const dir = tempDir();
  dirs.push(dir);
  writeBasicConfig(dir, { worker: { maxStoreDownMs } });
  return dir;
}

interface LogLine {
  msg?: string;
  retryInMs?: number;
  err?: { message?: string };
}

/** The pino JSON lines of a command's stderr (the last line, nightshift's error, is not one). */
function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('services started while PostgreSQL is down', () => {
  it('wait with backoff up to maxStoreDownMs, logging it, then exit 1 with one clear line', async () => {
    const dir = configDir(2_000);
    const db = `postgres://postgres@127.0.0.1:${await sparePort()}/nightshift`;
    const commands = [['worker'], ['scheduler'], ['start']];
    const startedAt = performance.now();
    const results = await runCliMany(
      commands.map((args) => ({ args: [...args, '--db', db], options: { cwd: dir } })),
    );
    // Each waited out its bound (a lower bound on behaviour, not a speed assertion).
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(2_000);
    results.forEach((result, i) => {
      const context = `nightshift ${commands[i]!.join(' ')}\nstderr: ${result.stderr}`;
      expect(result.code, context).toBe(1);
      const waits = logLines(result.stderr).filter(
        (line) => line.msg === 'database unavailable at start; waiting for it',
      );
      expect(waits.length, context).toBeGreaterThanOrEqual(3);
      // Backoff: each wait at least as long as the one before, until the bound cuts the last one short.
      const delays = waits.slice(0, -1).map((line) => line.retryInMs ?? 0);
      expect(delays, context).toEqual([...delays].sort((a, b) => a - b));
      // The error says the driver's reason once: its message quotes its cause, which pino's own
      // serializer appended again ("...ECONNREFUSED 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1").
      for (const line of waits) {
        expect(line.err?.message, context).toMatch(/^PostgreSQL is unavailable: [^\n]*ECONNREFUSED/);
        expect(line.err?.message?.split('ECONNREFUSED'), context).toHaveLength(2);
      }
      const last = result.stderr.trim().split('\n').at(-1);
      expect(last, context).toMatch(
        /^nightshift: the database stayed unavailable for 2000 ms \(worker\.maxStoreDownMs\); giving up: PostgreSQL is unavailable: .*ECONNREFUSED/,
      );
    });
  });

  it.skipIf(ownPostgresUnavailable() !== null)(
    'carry on once a PostgreSQL started after them answers',
    async () => {
      server = await startOwnPostgres();
      await server.stop();
      const dir = configDir(120_000);
      const spawned = [['worker'], ['scheduler']].map((args) => {
        const child = spawnCli([...args, '--db', server!.url], { cwd: dir });
        const out = { stderr: '' };
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        return { child, out, exited };
      });
      try {
        await waitUntil(() => spawned.every(({ out }) => out.stderr.includes('waiting for it')), {
          timeoutMs: 60_000,
          message: 'both commands waiting for the database',
        });
        await server.start();
        await waitUntil(
          () =>
            spawned[0]!.out.stderr.includes('serving tasks') &&
            spawned[1]!.out.stderr.includes('scheduler running'),
          { timeoutMs: 60_000, message: 'both commands running once the database is up' },
        );
        for (const { out } of spawned) expect(out.stderr).toContain('database reachable; starting');

        // The worker really works: a job enqueued now completes.
        store = await openStore(server.url);
        const job = newJob({ task: 'echo' });
        await store.jobInsertMany({ jobs: [job] });
        await waitUntil(async () => (await store!.jobGet({ id: job.id }))?.state === 'completed', {
          timeoutMs: 60_000,
          message: 'job completed',
        });
      } finally {
        for (const { child } of spawned) child.kill('SIGTERM');
      }
      for (const { exited, out } of spawned) expect(await exited, out.stderr).toBe(0);
    },
  );
});

describe('the wait at start with worker.maxStoreDownMs 0', () => {
  it('waits as long as it takes: 0 is no bound, as for the running services', async () => {
    let attempts = 0;
    const result = await waitForDatabase(
      () => {
        attempts += 1;
        if (attempts < 4)
          throw new NightshiftError('database_unavailable', 'PostgreSQL is unavailable: test');
        return Promise.resolve('connected');
      },
      {
        url: 'postgres://127.0.0.1:1/nightshift',
        logger: createLogger({ level: 'silent' }),
        maxStoreDownMs: 0,
      },
    );
    // It gave up at the first failure.
    expect(result).toBe('connected');
    expect(attempts).toBe(4);
  });
});

describe('the wait at start against a database that does not answer', () => {
  const silentLogger = createLogger({ level: 'silent' });
  const url = 'postgres://127.0.0.1:1/nightshift';
  const unavailable = (): NightshiftError =>
    new NightshiftError(
      'database_unavailable',
      'PostgreSQL is unavailable: Connection terminated due to connection timeout',
    );

  it('counts the failed attempt itself toward the bound: one that outlasted it is not repeated', async () => {
    let attempts = 0;
    const waited = waitForDatabase(
      async () => {
        attempts += 1;
        // A host that drops packets: the attempt fails only at the connect timeout, past the bound.
        await new Promise((resolve) => setTimeout(resolve, 300));
        throw unavailable();
      },
      { url, logger: silentLogger, maxStoreDownMs: 200 },
    );
    await expect(waited).rejects.toThrow(/stayed unavailable for 200 ms .*connection timeout/);
    expect(attempts).toBe(1);
  });

  it('gives up at the bound when a retry never answers', async () => {
    let attempts = 0;
    const waited = waitForDatabase(
      () => {
        attempts += 1;
        // The first attempt fails; the retry's connection is accepted and then silent for good.
        return attempts === 1 ? Promise.reject(unavailable()) : new Promise<never>(() => {});
      },
      { url, logger: silentLogger, maxStoreDownMs: 1_000 },
    );
    await expect(waited).rejects.toThrow(
      /stayed unavailable for 1000 ms \(worker\.maxStoreDownMs\); giving up: PostgreSQL did not answer within \d+ ms/,
    );
    expect(attempts).toBe(2);
  });
});
