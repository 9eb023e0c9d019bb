/**
 * A service whose database stops answering exits 1 with its one error line once the configured outage
 * bound (config `worker.maxStoreDownMs`) has passed, on a connection that is black-holed rather than
 * closed (a host gone, a partition): the case where calls already sent never come back.
 *
 * - `nightshift worker` printed its error only about a minute after giving up: closing waited for the
 *   black-holed calls to reach their statement timeout.
 * - `nightshift scheduler` took the config's bound while waiting for the database at start, but once
 *   running gave up only after its own default of 60 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBlackholeProxy, type BlackholeProxy } from '../postgres/blackhole-proxy.js';
import { TEST_PG_URL } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { createTestDatabase, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const MAX_STORE_DOWN_MS = 2_000;
/** Far past the bound and the close that follows it, far short of the default 60 s statement timeout. */
const EXIT_WITHIN_MS = 40_000;

const dir = tempDir('nightshift-outage-');
writeBasicConfig(dir, { worker: { maxStoreDownMs: MAX_STORE_DOWN_MS } });
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: BlackholeProxy;
let proxiedUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const migrated = await runCli(['migrate', '--db', database.url], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  const target = new URL(TEST_PG_URL);
  proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const url = new URL(database.url);
  url.host = `127.0.0.1:${proxy.port}`;
  proxiedUrl = url.toString();
});

afterAll(async () => {
  await proxy.close();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
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
