/**
 * Which commands may create a database: `migrate` and the long-running services do; read and control
 * commands on a database that does not exist fail with one line (exit 1) and create nothing, so a typo
 * in --db is an error instead of a new, empty database. On SQLite (a missing file) and PostgreSQL (a
 * database without nightshift's tables).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, runCliMany, spawnCli, tempDir } from './cli-process.js';
import { createTestDatabase, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
let pg: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  pg = await createTestDatabase();
});

afterAll(async () => {
  await pg.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Read and control commands, each of which must refuse a database that does not exist. */
const READERS: string[][] = [
  ['jobs', 'list'],
  ['jobs', 'show', '01890000-0000-7000-8000-000000000000'],
  ['jobs', 'cancel', '01890000-0000-7000-8000-000000000000'],
  ['enqueue', 'echo', '--payload', '{}'],
  ['schedules', 'list'],
  ['tasks'],
  ['schedules', 'create', 'nightly', '--task', 'echo', '--cron', '0 6 * * *'],
];

function expectRefused(
  result: { code: number | null; stdout: string; stderr: string },
  context: string,
): void {
  expect(result.code, context).toBe(1);
  expect(result.stdout, context).toBe('');
  expect(JSON.parse(result.stderr), context).toEqual({
    error: {
      code: 'not_found',
      message: expect.stringMatching(
        /^no nightshift database at .*nightshift migrate --db .* creates/,
      ) as string,
    },
  });
}

describe('commands that may not create a database', () => {
  it('on SQLite, refuse a missing file with one line and leave no file behind', async () => {
    const results = await runCliMany(
      READERS.map((args) => ({
        args: [...args, '--db', 'sqlite:./typo.db', '--json'],
        options: { cwd: dir },
      })),
    );
    results.forEach((result, i) =>
      expectRefused(result, `nightshift ${READERS[i]!.join(' ')}: ${result.stderr}`),
    );
    expect(existsSync(join(dir, 'typo.db'))).toBe(false);

    const human = await runCli(['jobs', 'list', '--db', 'sqlite:./typo.db'], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stderr).toBe(
      `nightshift: no nightshift database at sqlite:./typo.db: ${join(dir, 'typo.db')} does not exist; ` +
        '`nightshift migrate --db sqlite:./typo.db` creates it\n',
    );
    expect(existsSync(join(dir, 'typo.db'))).toBe(false);
  });

  it('on an in-memory SQLite database, say why there is nothing to read instead of offering migrate', async () => {
    const result = await runCli(['jobs', 'list', '--db', 'sqlite::memory:'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'nightshift: no nightshift database at sqlite::memory:: an in-memory database is new and empty in ' +
        'each process that opens it, so this one holds nothing; give a file, such as sqlite:./nightshift.db\n',
    );
  });

  it('on PostgreSQL, refuse a database without nightshift tables and create none', async () => {
    const results = await runCliMany(
      READERS.map((args) => ({ args: [...args, '--db', pg.url, '--json'], options: { cwd: dir } })),
    );
    results.forEach((result, i) =>
      expectRefused(result, `nightshift ${READERS[i]!.join(' ')}: ${result.stderr}`),
    );
    const store = await openStore(pg.url);
    try {
      expect((await store.schemaVersion()).current).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('on SQLite, refuse a file that is no nightshift database and leave it exactly as it was', async () => {
    // An empty file (touch), a text file, and another program's databases in both journal modes.
    const files = join(dir, 'foreign');
    mkdirSync(files);
    writeFileSync(join(files, 'empty.db'), '');
    writeFileSync(join(files, 'text.db'), 'not a database\n');
    for (const [name, mode] of [
      ['theirs.db', 'DELETE'],
      ['theirs-wal.db', 'WAL'],
    ] as const) {
      const theirs = new Database(join(files, name));
      theirs.pragma(`journal_mode = ${mode}`);
      theirs.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY)');
      theirs.close();
    }
    const before = new Map(readdirSync(files).map((name) => [name, readFileSync(join(files, name))]));

    const results = await runCliMany(
      [...before.keys()].map((name) => ({
        args: ['jobs', 'list', '--db', `sqlite:./${name}`, '--json'],
        options: { cwd: files },
      })),
    );
    results.forEach((result, i) => expectRefused(result, `jobs list on ${[...before.keys()][i]!}`));
    expect(readdirSync(files).sort()).toEqual([...before.keys()].sort());
    for (const [name, bytes] of before)
      expect(readFileSync(join(files, name)).equals(bytes), name).toBe(true);
  });

  it('migrate creates the database, and then the same commands work', async () => {
    for (const db of ['sqlite:./made.db', pg.url]) {
      const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
      expect(migrated.code, migrated.stderr).toBe(0);
      const listed = await runCli(['jobs', 'list', '--db', db, '--json'], { cwd: dir });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({ jobs: [], nextCursor: null });
    }
    expect(existsSync(join(dir, 'made.db'))).toBe(true);
  });

  it('worker creates its database when there is none', async () => {
    const worker = spawnCli(['worker', '--db', 'sqlite:./by-worker.db'], { cwd: dir });
    let logs = '';
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
    await waitUntil(() => logs.includes('serving tasks'), { timeoutMs: 60_000, message: 'worker started' });
    worker.kill('SIGTERM');
    expect(await exited, logs).toBe(0);
    const listed = await runCli(['jobs', 'list', '--db', 'sqlite:./by-worker.db'], { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
  });
});
