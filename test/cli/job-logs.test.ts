/** `nightshift jobs logs ID` and the count in `jobs show`, on SQLite and PostgreSQL. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobLogLineJson } from '../../src/cli/output.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { createTestDatabase, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['sqlite', 'postgres'] as const)('jobs logs on %s', (backend) => {
  let url: string;
  let drop = (): Promise<void> => Promise.resolve();
  let jobId: string;
  let quietId: string;

  beforeAll(async () => {
    if (backend === 'sqlite') url = `sqlite:${join(dir, 'logs.db')}`;
    else ({ url, drop } = await createTestDatabase());
    // A worker of the test's own: the lines the CLI reads were written by a real attempt.
    const ns = await Nightshift.connect({
      db: url,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        talks: (_payload, ctx) => {
          ctx.log('fetched page', { page: 1 });
          ctx.log('done');
        },
        quiet: () => 'nothing said',
      },
    });
    try {
      jobId = (await ns.enqueue('talks')).id;
      quietId = (await ns.enqueue('quiet')).id;
      ns.startWorker({ pollIntervalMs: 20 });
      await ns.waitFor(jobId, { timeoutMs: 10_000 });
      await ns.waitFor(quietId, { timeoutMs: 10_000 });
    } finally {
      await ns.close();
    }
  });
  afterAll(() => drop());

  const cli = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: url } });

  it('prints the lines, as text and as JSON; show counts them; an unknown job is an error', async () => {
    const text = await cli('jobs', 'logs', jobId);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^#1 \d{4}-\d\d-\d\dT[\d:.]+Z info fetched page {2}\{"page":1\}\n#1 \S+ info done\n$/,
    );

    const json = await cli('jobs', 'logs', jobId, '--json');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { logs: JobLogLineJson[] }).logs).toEqual([
      {
        attempt: 1,
        at: expect.any(String) as unknown,
        level: 'info',
        message: 'fetched page',
        data: { page: 1 },
      },
      { attempt: 1, at: expect.any(String) as unknown, level: 'info', message: 'done', data: null },
    ]);

    const show = await cli('jobs', 'show', jobId);
    expect(show.stdout).toContain(`logs: 2 lines (nightshift jobs logs ${jobId})`);
    expect(JSON.parse((await cli('jobs', 'show', jobId, '--json')).stdout)).toMatchObject({ logLines: 2 });
    expect((await cli('jobs', 'show', quietId)).stdout).toContain('logs: none');
    expect((await cli('jobs', 'logs', quietId)).stdout).toBe('');

    const missing = await cli('jobs', 'logs', '00000000-0000-7000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('nightshift: job 00000000-0000-7000-8000-000000000000 not found\n');
  });
});
