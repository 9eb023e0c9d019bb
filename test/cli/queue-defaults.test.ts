/**
 * A config's queue job defaults (docs/TENANCY.md) in the CLI's processes: `nightshift enqueue` applies
 * them (without writing the config's queue limits, which only the services and `migrate` write), a
 * payload they cannot derive from is refused naming the queue with nothing written, and `nightshift
 * serve` applies them to jobs enqueued over REST.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { allJobs, openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeFileSync(
  join(dir, 'nightshift.config.mjs'),
  `export default {
  tasks: { echo: (payload) => payload },
  queues: {
    mail: { concurrency: 3 },
    'tenant-sync': {
      concurrencyKey: (payload, task) => {
        if (typeof payload?.tenant !== 'string') throw new Error('the payload names no tenant');
        return task + ':' + payload.tenant;
      },
      concurrencyLimit: 2,
      group: (payload) => payload.tenant,
    },
  },
};
`,
);
const url = `sqlite:${join(dir, 'jobs.db')}`;
const env = { NIGHTSHIFT_DB: url };
const children: Array<ReturnType<typeof spawnCli>> = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe("a config's queue job defaults in the CLI", () => {
  it('enqueue applies them and writes no queue limit; a payload they refuse writes nothing', async () => {
    expect((await runCli(['migrate'], { cwd: dir, env })).code).toBe(0);
    const store = await openTestStore(url);
    try {
      // migrate wrote the config's limit; an operator changes it, and an enqueue must not undo that.
      expect((await store.queueLimitList()).find((q) => q.queue === 'mail')?.limit).toBe(3);
      await store.queueSetLimit({ queue: 'mail', limit: 9 });
      const enqueued = await runCli(
        ['enqueue', 'echo', '--queue', 'tenant-sync', '--payload', '{"tenant":"acme"}', '--json'],
        { cwd: dir, env },
      );
      expect(enqueued.code, enqueued.stderr).toBe(0);
      const { job } = JSON.parse(enqueued.stdout) as { job: Record<string, unknown> };
      expect(job).toMatchObject({ queue: 'tenant-sync', concurrencyKey: 'echo:acme', group: 'acme' });
      expect((await store.queueLimitList()).find((q) => q.queue === 'mail')?.limit).toBe(9);

      const refused = await runCli(['enqueue', 'echo', '--queue', 'tenant-sync', '--payload', '{}'], {
        cwd: dir,
        env,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /queue "tenant-sync" \(task "echo"\): its concurrencyKey function threw on this payload: the payload names no tenant/,
      );
      expect(await allJobs(store)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('serve applies them to jobs enqueued over REST', async () => {
    const created = await runCli(['tokens', 'create', '--role', 'operator', '--name', 'producer', '--json'], {
      cwd: dir,
      env,
    });
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const child = spawnCli(['serve', '--port', '0'], { cwd: dir, env });
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const base = await waitUntil(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)?.[1], {
      timeoutMs: 60_000,
    });
    const post = (payload: unknown) =>
      fetch(`${base}/api/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'echo', queue: 'tenant-sync', payload }),
      });
    const accepted = await post({ tenant: 'web' });
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { job: unknown }).job).toMatchObject({
      concurrencyKey: 'echo:web',
      group: 'web',
    });
    const refused = await post({});
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /queue "tenant-sync" \(task "echo"\)/,
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
