/** The CLI against PostgreSQL: the same commands and --json shapes as on SQLite, through a postgres:// URL. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobJson, JobRunJson } from '../../src/cli/output.js';
import type { Store } from '../../src/store/store.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
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
});
