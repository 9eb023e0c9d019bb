/**
 * `nightshift top` on SQLite and PostgreSQL: one frame or a JSON snapshot for scripts, and the live
 * screen driven in a real pseudo-terminal (test/cli/pty-relay.py): it draws real data, refreshes (a job
 * enqueued after it started appears), and on q exits 0 with the cursor shown and the main screen back.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TopSnapshot } from '../../src/cli/top/snapshot.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, cliNodeArgs, runCli, tempDir } from './cli-process.js';
import { createTestDatabase } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const ROOT = resolve(import.meta.dirname, '../..');
const dir = tempDir();
// top connects with the config's tasks, so its alerts judge their maxDurationMs (stuck jobs).
writeFileSync(
  join(dir, 'nightshift.config.mjs'),
  `export default { tasks: { echo: (p) => p, hangs: { maxDurationMs: 100, handler: () => new Promise(() => {}) } } };\n`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['sqlite', 'postgres'] as const)('nightshift top on %s', (backend) => {
  let url: string;
  let drop = (): Promise<void> => Promise.resolve();
  let ns: Nightshift;
  let hanging: { id: string };

  beforeAll(async () => {
    if (backend === 'sqlite') url = `sqlite:${join(dir, 'top.db')}`;
    else ({ url, drop } = await createTestDatabase());
    ns = await Nightshift.connect({
      db: url,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        echo: (payload: unknown) => payload,
        hangs: { maxDurationMs: 100, handler: () => new Promise(() => undefined) },
      },
    });
    await ns.enqueue('echo', 1, { queue: 'emails' });
    await ns.enqueue('echo', 2, { queue: 'emails' });
    hanging = await ns.enqueue('hangs', null, { queue: 'reports' });
    // A job that runs past its task's maxDurationMs (its worker stays up, renewing the lease).
    ns.startWorker({ queues: ['reports'], pollIntervalMs: 20 });
    await waitUntil(async () => (await ns.getJob(hanging.id))?.state === 'running');
    await ns.schedules.create({ id: 'nightly', task: 'echo', cron: '0 3 * * *' });
  });
  afterAll(async () => {
    await ns.close({ force: true, graceMs: 0 });
    await drop();
  });

  const cli = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: url } });

  it('--json prints one snapshot; --once (or a pipe) prints one frame', async () => {
    const json = await cli('top', '--json');
    expect(json.code, json.stderr).toBe(0);
    const snapshot = JSON.parse(json.stdout) as TopSnapshot;
    expect(snapshot.queues.find((queue) => queue.name === 'emails')).toMatchObject({
      counts: { queued: 2, running: 0 },
      completedPerSec: null,
      paused: false,
    });
    expect(snapshot.queues.find((queue) => queue.name === 'emails')?.oldestReadyAgeMs).toBeGreaterThanOrEqual(
      0,
    );
    expect(snapshot.workers).toMatchObject([{ queues: ['reports'], concurrency: 10 }]);
    expect(snapshot.alerts).toMatchObject([{ kind: 'max_duration', jobId: hanging.id }]);
    const frame = await cli('top', '--once');
    expect(frame.code, frame.stderr).toBe(0);
    // One frame refreshes nothing and reads no key: its header offers neither.
    expect(frame.stdout).toMatch(/^nightshift top {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n/);
    expect(frame.stdout).toMatch(/\nemails +0 +2 +0 +0/);
    expect(frame.stdout).not.toContain('\u001b[');
    expect(frame.stdout).toContain('\nALERTS 1: max_duration 1\n');
    expect(frame.stdout).toMatch(/\nWORKERS \(1\)\n.*\n\S+ +\S+ +\d+ +reports +- +[01]\/10 +/);
    const piped = await cli('top');
    expect(piped.stdout).toContain('QUEUE');
    expect(piped.stdout).not.toContain('\u001b[');
  });

  it('draws live in a terminal, refreshes, and restores the terminal on q', async () => {
    const child = spawn(
      'python3',
      [
        join(ROOT, 'test/cli/pty-relay.py'),
        '30',
        '100',
        process.execPath,
        ...cliNodeArgs(),
        'top',
        '--interval',
        '200',
      ],
      { cwd: dir, env: { ...process.env, NIGHTSHIFT_DB: url }, stdio: 'pipe' },
    );
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    const exited = new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
    try {
      await waitUntil(() => screen.includes('emails'), { timeoutMs: 60_000, message: 'first frame' });
      expect(screen.startsWith('\u001b[?1049h\u001b[?25l')).toBe(true);
      // Frames start at the cursor home; each line is cut to the terminal's 100 columns.
      const escape = '\u001b';
      const lines = screen
        .split(new RegExp(`\\r*\\n|${escape}\\[H`))
        .map((line) => line.replace(new RegExp(`${escape}\\[[?\\d;]*[A-Za-z]`, 'g'), ''));
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
      expect(screen).toMatch(/STUCK \(1\)/);
      expect(screen).toContain('past max duration');

      await ns.enqueue('echo', 3, { queue: 'added-after-start' });
      await waitUntil(() => screen.includes('added-after-start'), { timeoutMs: 30_000, message: 'refresh' });

      child.stdin.write('q');
      expect(await exited).toBe(0);
      expect(screen.endsWith('\u001b[?25h\u001b[?1049l')).toBe(true);
    } finally {
      child.kill();
    }
  });
});
