/**
 * The schedule commands through the real CLI on a SQLite file: create, list, show, trigger, pause,
 * resume, delete, with --json and the exit codes 0 (ok), 1 (failure) and 2 (usage); and the
 * `scheduler` command syncing config schedules and enqueueing their slots until SIGTERM.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { runCli, spawnCli, tempDir } from '../cli/cli-process.js';
import { writeBasicConfig } from '../cli/fixtures.js';
import { waitUntil } from '../support/wait-until.js';

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

describe('schedules CLI', () => {
  // Fifteen CLI runs, each a Node start: slow on a shared machine, hence the longer timeout.
  it(
    'creates, shows, triggers, pauses, resumes and deletes a schedule with stable exit codes',
    { timeout: 180_000 },
    async () => {
      const cwd = tempDir();
      writeBasicConfig(cwd);
      const db = `sqlite:${join(cwd, 'ns.db')}`;
      const cli = (...args: string[]) => runCli([...args, '--db', db], { cwd });
      // Only migrate and the services create a database; schedules commands need one.
      expect((await cli('migrate')).code).toBe(0);

      const created = await cli(
        'schedules',
        'create',
        'hourly',
        '--task',
        'echo',
        '--cron',
        '0 * * * *',
        '--payload',
        '{"n":1}',
        '--json',
      );
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({
        schedule: { id: 'hourly', cron: '0 * * * *', source: 'api', payload: { n: 1 } },
      });

      const badCron = await cli('schedules', 'create', 'bad', '--task', 'echo', '--cron', '99 * * * *');
      expect(badCron.code).toBe(2);
      expect(badCron.stderr).toMatch(/bad cron/);
      expect((await cli('schedules', 'create', 'both', '--task', 'echo')).code).toBe(2);

      const list = await cli('schedules', 'list', '--json');
      expect(list.code).toBe(0);
      expect(
        (JSON.parse(list.stdout) as { schedules: Array<{ id: string }> }).schedules.map((s) => s.id),
      ).toEqual(['hourly']);

      // From a directory with no config, the CLI does not know the task, so the job would miss its
      // queue and attempts: refused as for enqueue, and nothing is written.
      const unknown = await runCli(['schedules', 'trigger', 'hourly', '--db', db], { cwd: tempDir() });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr.trim()).toBe(
        'nightshift: unknown task "echo": there is no config module here (pass --config FILE)',
      );
      expect(JSON.parse((await cli('jobs', 'list', '--json')).stdout)).toMatchObject({ jobs: [] });

      const trigger = await cli('schedules', 'trigger', 'hourly');
      expect(trigger.code).toBe(0);
      const jobId = trigger.stdout.trim();
      expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
      // Skipped by the overlap policy: an error, said once (it was also printed as a result on stdout).
      const skipped = await cli('schedules', 'trigger', 'hourly', '--json');
      expect(skipped.code).toBe(1);
      expect(skipped.stdout).toBe('');
      expect(JSON.parse(skipped.stderr)).toEqual({
        error: { code: 'conflict', message: `trigger skipped: overlap skip: run ${jobId} still active` },
      });
      const skippedText = await cli('schedules', 'trigger', 'hourly');
      expect([skippedText.code, skippedText.stdout]).toEqual([1, '']);
      expect(skippedText.stderr).toBe(
        `nightshift: trigger skipped: overlap skip: run ${jobId} still active\n`,
      );

      const show = await cli('schedules', 'show', 'hourly', '--json');
      const shown = JSON.parse(show.stdout) as {
        nextSlots: string[];
        recentSlots: Array<{ kind: string; jobId: string | null }>;
      };
      expect(shown.nextSlots).toHaveLength(5);
      // The run, then the two skipped triggers, each recorded.
      expect(shown.recentSlots.map((r) => r.kind)).toEqual(['trigger', 'trigger', 'trigger']);
      expect(shown.recentSlots.some((r) => r.jobId === jobId)).toBe(true);
      const showText = (await cli('schedules', 'show', 'hourly')).stdout;
      expect(showText).toMatch(/recent slots:/);
      // A trigger is no slot, and no run has finished: neither a last slot nor a last run to show.
      expect(showText).not.toMatch(/^last (slot|run)/m);
      expect((await cli('schedules', 'list')).stdout).toMatch(/NEXT SLOT +LAST RUN ENDED +LAST OUTCOME/);

      expect((await cli('schedules', 'pause', 'hourly')).code).toBe(0);
      expect(JSON.parse((await cli('schedules', 'show', 'hourly', '--json')).stdout)).toMatchObject({
        schedule: { paused: true },
      });
      expect((await cli('schedules', 'resume', 'hourly')).code).toBe(0);
      expect((await cli('schedules', 'show', 'missing')).code).toBe(1);
      expect((await cli('schedules', 'delete', 'hourly')).code).toBe(0);
      expect((await cli('schedules', 'delete', 'hourly')).code).toBe(1);
    },
  );

  it(
    'schedules list filters by state, task and id prefix, and pages with --cursor',
    { timeout: 180_000 },
    async () => {
      const cwd = tempDir();
      writeBasicConfig(cwd);
      const db = `sqlite:${join(cwd, 'ns.db')}`;
      const cli = (...args: string[]) => runCli([...args, '--db', db], { cwd });
      expect((await cli('migrate')).code).toBe(0);
      const hourly = await cli('schedules', 'create', 'hourly', '--task', 'echo', '--cron', '0 * * * *');
      expect(hourly.code, hourly.stderr).toBe(0);

      // A paused per-tenant schedule beside the hourly one.
      const tenant = await cli(
        'schedules',
        'create',
        'tenant-7:sync',
        '--task',
        'echo',
        '--every',
        '60000',
        '--paused',
      );
      expect(tenant.code, tenant.stderr).toBe(0);
      type Page = { schedules: Array<{ id: string }>; nextCursor: string | null };
      const ids = (result: { stdout: string }) =>
        (JSON.parse(result.stdout) as Page).schedules.map((s) => s.id);
      const [paused, active, byPrefix, byTask, first] = await Promise.all([
        cli('schedules', 'list', '--state', 'paused', '--json'),
        cli('schedules', 'list', '--state', 'active', '--json'),
        cli('schedules', 'list', '--prefix', 'tenant-', '--json'),
        cli('schedules', 'list', '--task', 'boom', '--json'),
        cli('schedules', 'list', '--limit', '1', '--json'),
      ]);
      expect(ids(paused)).toEqual(['tenant-7:sync']);
      expect(ids(active)).toEqual(['hourly']);
      expect(ids(byPrefix)).toEqual(['tenant-7:sync']);
      expect(ids(byTask)).toEqual([]);
      const page1 = JSON.parse(first.stdout) as Page;
      expect(page1.schedules.map((s) => s.id)).toEqual(['hourly']);
      expect(page1.nextCursor).not.toBeNull();
      const [page2, badState] = await Promise.all([
        cli('schedules', 'list', '--limit', '1', '--cursor', page1.nextCursor ?? '', '--json'),
        cli('schedules', 'list', '--state', 'sleeping'),
      ]);
      expect(JSON.parse(page2.stdout)).toEqual({
        schedules: [expect.objectContaining({ id: 'tenant-7:sync', paused: true })],
        nextCursor: null,
      });
      expect(badState.code).toBe(2);
      expect(badState.stderr).toMatch(/--state must be one of active, paused, suspended/);

      // The next-page hint of a filtered list keeps its filters: an active schedule sorts between the
      // two paused ones, and a bare --cursor would list it.
      for (const [id, paused] of [
        ['tenant-8:active', false],
        ['tenant-9:sync', true],
      ] as const) {
        const made = await cli(
          'schedules',
          'create',
          id,
          '--task',
          'echo',
          '--every',
          '60000',
          ...(paused ? ['--paused'] : []),
        );
        expect(made.code, made.stderr).toBe(0);
      }
      const pausedPage = await cli('schedules', 'list', '--state', 'paused', '--limit', '1');
      expect(pausedPage.stdout).toMatch(/tenant-7:sync/);
      const hint = /^more: nightshift (.*)$/m.exec(pausedPage.stdout)?.[1];
      expect(hint, pausedPage.stdout).toBeDefined();
      // The hint as a shell reads it: its words, quotes removed.
      const { stdout: split } = await promisify(execFile)('bash', ['-c', `printf '%s\\0' ${hint!}`]);
      const next = await cli(...split.split('\0').slice(0, -1), '--json');
      expect(JSON.parse(next.stdout)).toEqual({
        schedules: [expect.objectContaining({ id: 'tenant-9:sync' })],
        nextCursor: null,
      });
    },
  );

  it('scheduler syncs config schedules and enqueues their slots until SIGTERM', async () => {
    const cwd = tempDir();
    writeBasicConfig(cwd, {
      schedules: [
        { id: 'every-second', task: 'echo', everyMs: 1000, overlap: 'allow', payload: { from: 'config' } },
      ],
    });
    const file = join(cwd, 'ns.db');
    const child = spawnCli(['scheduler', '--db', `sqlite:${file}`, '--poll', '200'], { cwd });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitUntil(() => stderr.includes('scheduler running'), {
        timeoutMs: 20_000,
        message: 'scheduler started',
      });
      const store = await openStore(`sqlite:${file}`);
      stores.push(store);
      const jobs = await waitUntil(
        async () => {
          const page = await store.jobList({ limit: 100 });
          const ours = page.jobs.filter((j) => j.scheduleId === 'every-second');
          return ours.length >= 2 ? ours : undefined;
        },
        { timeoutMs: 15_000, message: 'two slots enqueued' },
      );
      expect(jobs.every((j) => j.task === 'echo')).toBe(true);
      expect(jobs[0]?.payload).toEqual({ from: 'config' });
      expect((await store.scheduleGet({ id: 'every-second' }))?.source).toBe('config');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
