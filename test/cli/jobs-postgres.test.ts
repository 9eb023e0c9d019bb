/** The CLI against PostgreSQL: the same commands and --json shapes as on SQLite, through a postgres:// URL. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobJson, JobRunJson } from '../../src/cli/output.js';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { createTestDatabase, openTestStore, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
let db: { url: string; drop: () => Promise<void> };
let store: Store;

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db.url } });
}

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await store?.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the CLI on PostgreSQL', () => {
  it('migrates, enqueues with a key, lists, shows, cancels and retries', async () => {
    const migrated = await cli('migrate', '--json');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ from: 0 });
    store = await openTestStore(db.url);

    const first = await cli(
      'enqueue',
      'echo',
      '--payload',
      '{"n":1}',
      '--key',
      'pg-1',
      '--delay',
      '600000',
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    const created = JSON.parse(first.stdout) as { id: string; created: boolean; job: JobJson };
    expect(created).toMatchObject({ created: true, job: { state: 'scheduled', payload: { n: 1 } } });

    const again = await cli('enqueue', 'echo', '--payload', '{"n":2}', '--key', 'pg-1');
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(created.id);
    expect(again.stderr).toContain('already existed');

    const listed = await cli('jobs', 'list', '--state', 'scheduled', '--json');
    expect((JSON.parse(listed.stdout) as { jobs: JobJson[] }).jobs.map((job) => job.id)).toEqual([
      created.id,
    ]);

    const cancelled = await cli('jobs', 'cancel', created.id, '--json');
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ outcome: 'cancelled', job: { state: 'cancelled' } });
    const retried = await cli('jobs', 'retry', created.id, '--json');
    expect(JSON.parse(retried.stdout)).toMatchObject({ outcome: 'retried', job: { state: 'queued' } });

    const shown = await cli('jobs', 'show', created.id, '--json');
    const { job, runs } = JSON.parse(shown.stdout) as { job: JobJson; runs: JobRunJson[] };
    expect(job).toMatchObject({ id: created.id, state: 'queued', idempotencyKey: 'pg-1' });
    expect(runs).toEqual([]);
    expect((await store.jobGet({ id: created.id }))?.state).toBe('queued');
  });

  it("jobs show flags a run that outlasted its task's maxDurationMs", async () => {
    const enqueued = await cli('enqueue', 'tardy', '--queue', 'pg-tardy', '--json');
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const { id } = JSON.parse(enqueued.stdout) as { id: string };
    const worker = spawnCli(['worker', '--queues', 'pg-tardy'], { cwd: dir, env: { NIGHTSHIFT_DB: db.url } });
    let logs = '';
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
    await waitUntil(async () => (await store.jobGet({ id }))?.state === 'completed', {
      timeoutMs: 60_000,
      message: 'tardy job completed',
    });
    worker.kill('SIGTERM');
    expect(await exited, logs).toBe(0);

    const [json, human] = await Promise.all([cli('jobs', 'show', id, '--json'), cli('jobs', 'show', id)]);
    const { runs } = JSON.parse(json.stdout) as { runs: JobRunJson[] };
    expect(runs).toEqual([
      expect.objectContaining({ outcome: 'completed', maxDurationExceeded: true }) as JobRunJson,
    ]);
    expect(human.stdout).toMatch(/^1\s+completed \(over maxDurationMs\)\s/m);
  });
});
