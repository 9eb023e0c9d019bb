/**
 * A command's whole output reaches a pipe before the process exits: stdout and stderr are pipes here
 * (as under `| jq` or `| wc -c`), and what does not fit a pipe's 64 KiB buffer is written
 * asynchronously by Node. Exiting right after the command cut such output at 64 KiB, exit code 0.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'jobs.db')}`;
/** Well past the 64 KiB of a Linux pipe buffer. */
const BIG = 300_000;
const JOBS = 300;
const piped = { cwd: dir, shellPipes: true };

beforeAll(async () => {
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  const lines = Array.from({ length: JOBS }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(1_000) }));
  writeFileSync(join(dir, 'many.ndjson'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'big.ndjson'), JSON.stringify({ blob: 'b'.repeat(BIG) }) + '\n');
  for (const file of ['many.ndjson', 'big.ndjson']) {
    const enqueued = await runCli(['enqueue', 'echo', '--from', file, '--db', db], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('output larger than a pipe buffer', () => {
  it('jobs list --json prints every job of the page, as one parseable document', async () => {
    const result = await runCli(['jobs', 'list', '--limit', '1000', '--json', '--db', db], piped);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(4 * 65_536);
    const page = JSON.parse(result.stdout) as { jobs: unknown[]; nextCursor: string | null };
    expect(page.jobs).toHaveLength(JOBS + 1);
    expect(page.nextCursor).toBeNull();
  });

  it('jobs show --json prints a large payload whole', async () => {
    const listed = await runCli(['jobs', 'list', '--limit', '1', '--json', '--db', db], { cwd: dir });
    const [newest] = (JSON.parse(listed.stdout) as { jobs: Array<{ id: string }> }).jobs;
    const result = await runCli(['jobs', 'show', newest!.id, '--json', '--db', db], piped);
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse(result.stdout) as { job: { payload: { blob: string } } };
    expect(shown.job.payload.blob).toBe('b'.repeat(BIG));
  });

  it('an error line longer than a pipe buffer reaches stderr whole', async () => {
    const task = 't'.repeat(100_000);
    const result = await runCli(['enqueue', task, '--db', db], piped);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^nightshift: unknown task "t+": .* does not declare it\n$/);
    expect(result.stderr).toContain(`"${task}"`);
  });

  it('a config module that leaves a timer running does not keep a finished command alive', async () => {
    const config = join(dir, 'timer.config.mjs');
    writeFileSync(config, `setInterval(() => {}, 1_000);\nexport default { tasks: { echo: (p) => p } };\n`);
    const args = ['jobs', 'list', '--limit', '1', '--json', '--config', config, '--db', db];
    const result = await runCli(args, piped);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { jobs: unknown[] }).jobs).toHaveLength(1);
  });

  it('a reader that stops reading early (| head) is no error: exit 0, nothing on stderr', async () => {
    const child = spawnCli(['jobs', 'list', '--limit', '1000', '--json', '--db', db], { cwd: dir });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
