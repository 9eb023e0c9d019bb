/** `nightshift queues list|pause|resume` against a SQLite file: JSON shapes, text output, exit codes. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { QueueInfo } from '../../src/store/store.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'queues.db')}`;
const run = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db } });

beforeAll(async () => {
  expect((await run('migrate')).code).toBe(0);
  expect((await run('enqueue', 'echo', '--queue', 'mail')).code).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('queues through the CLI', () => {
  it('pauses, lists and resumes a queue, as JSON and as text', async () => {
    const paused = await run('queues', 'pause', 'mail', '--json');
    expect(paused.code, paused.stderr).toBe(0);
    expect((JSON.parse(paused.stdout) as { queue: QueueInfo }).queue).toMatchObject({
      name: 'mail',
      paused: true,
      counts: { queued: 1 },
    });
    const listed = await run('queues', 'list', '--json');
    const { queues } = JSON.parse(listed.stdout) as { queues: QueueInfo[] };
    expect(queues.map((q) => [q.name, q.paused])).toEqual([['mail', true]]);
    expect(queues[0]?.oldestReadyAgeMs).toEqual(expect.any(Number));
    // Its one ready job is held back by the pause.
    expect(queues[0]?.throttled).toMatchObject({ paused: 1, labels: 0 });
    const text = await run('queues', 'list');
    expect(text.stdout).toMatch(/^QUEUE\s+PAUSED/);
    expect(text.stdout).toMatch(/\nmail\s+yes\s+0\s+1\s.*\s+paused 1\n/);
    const resumed = await run('queues', 'resume', 'mail');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toBe('queue mail resumed\n');
  });

  it("shows a queue's oldest wait as top does, in days and hours once it is that old", async () => {
    // A job due at the start of 2026 that no worker ran: it printed as "29000000.0s".
    const enqueued = await run('enqueue', 'echo', '--queue', 'stale', '--run-at', '2026-01-01T00:00:00Z');
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const text = await run('queues', 'list');
    expect(text.code, text.stderr).toBe(0);
    // No worker runs: the job waits for one that claims from its queue.
    expect(text.stdout).toMatch(/\nstale\s+no\s+0\s+1\s+0\s+0\s+0\s+0\s+\d+d\d\dh\s+unserved 1\n/);
  });

  it('pauses a queue without jobs; refuses a bad or missing name as a usage error (2)', async () => {
    expect((await run('queues', 'pause', 'empty')).stdout).toBe('queue empty paused\n');
    const tooLong = await run('queues', 'pause', 'x'.repeat(300));
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/^nightshift: queue must be at most 255 bytes/);
    expect((await run('queues', 'pause')).code).toBe(2);
  });
});
