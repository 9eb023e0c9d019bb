/**
 * Input a command can refuse without its database is refused before the command opens one: a
 * service (which may create its database) leaves none behind, and a read or control command reports
 * the bad input (exit 2), not the database it never needed to look at. On SQLite (no file appears) and
 * PostgreSQL (an empty database keeps no nightshift tables).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { CLI_TEST_TIMEOUT_MS, runCliMany, tempDir, type CliResult } from './cli-process.js';
import { createTestDatabase, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: 2 * CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
/** Configs whose settings are refused when they load. */
const badHttp = join(dir, 'bad-http');
const badGrace = join(dir, 'bad-grace');
const noTasks = join(dir, 'no-tasks');
let pg: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  mkdirSync(badHttp);
  writeFileSync(
    join(badHttp, 'nightshift.config.mjs'),
    `export default { tasks: { echo: (p) => p }, http: { port: 'abc' } };\n`,
  );
  mkdirSync(badGrace);
  writeFileSync(
    join(badGrace, 'nightshift.config.mjs'),
    `export default { tasks: { echo: (p) => p }, worker: { graceMs: 999999999999 } };\n`,
  );
  // A new user's first config: no task yet, and no contracts either.
  mkdirSync(noTasks);
  writeFileSync(join(noTasks, 'nightshift.config.mjs'), `export default { tasks: {} };\n`);
  pg = await createTestDatabase();
});

afterAll(async () => {
  await pg.drop();
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  args: string[];
  cwd?: string;
  code: 1 | 2;
  says: RegExp;
}

/** Commands that may create their database, each given input it must refuse before doing so. */
const SERVICES: Case[] = [
  { args: ['worker', '--concurrency', '99999999'], code: 2, says: /--concurrency must be at most 10000/ },
  // Past Node's timer limit the scheduler passed in a 1 ms busy loop.
  { args: ['scheduler', '--poll', '999999999999'], code: 2, says: /--poll must be at most 2147483647/ },
  {
    args: ['worker', '--queues', 'q'.repeat(300)],
    code: 2,
    says: /worker option queues must be at most 255 bytes/,
  },
  {
    args: ['serve', '--host', '0.0.0.0', '--port', '0'],
    code: 1,
    // The commands it suggests name the database given (without it they made another).
    says: /refusing to listen on 0\.0\.0\.0, beyond this machine: the database does not exist yet, so no API token exists; create it and a token first \(nightshift migrate --db (sqlite:|postgres:)\S+, then nightshift tokens create --db (sqlite:|postgres:)\S+ --role admin/,
  },
  {
    args: ['serve'],
    cwd: badHttp,
    code: 1,
    says: /http\.port must be an integer from 0 to 65535, got "abc"/,
  },
  {
    args: ['worker'],
    cwd: badGrace,
    code: 1,
    says: /worker setting graceMs must be an integer from 0 to 2147483647/,
  },
  {
    args: ['worker'],
    cwd: noTasks,
    code: 1,
    says: /nightshift\.config\.mjs declares no task: a worker needs at least one task with a handler in "tasks" \(or "implementations"\)$/,
  },
];

/** Read and control commands given bad input: the input is the error, whatever the database. */
const CONTROLS: Case[] = [
  {
    args: ['tokens', 'create', '--role', 'superuser', '--name', 'x'],
    code: 2,
    says: /--role must be one of viewer, operator, admin, got "superuser"/,
  },
  { args: ['tokens', 'create', '--role', 'admin', '--name', ' '], code: 2, says: /--name must be 1-200/ },
  {
    args: ['tokens', 'create', '--role', 'admin', '--name', 'x', '--expires-in', '3000000d'],
    code: 2,
    says: /--expires-in must be at most 36525d/,
  },
  {
    args: ['schedules', 'create', 'z', '--task', 'echo', '--every', '1000', '--overlap', 'bad'],
    code: 2,
    says: /schedule "z": --overlap must be one of skip, queue, allow/,
  },
  {
    args: ['schedules', 'create', 'z', '--task', 'nope', '--every', '1000'],
    code: 2,
    says: /schedule "z": unknown task "nope"/,
  },
  {
    args: ['schedules', 'create', 'z', '--task', 'strict', '--every', '1000', '--payload', '{}'],
    code: 2,
    says: /invalid payload for task "strict": n: n must be a number/,
  },
  {
    args: ['enqueue', 'strict', '--payload', '{"n":"seven"}'],
    code: 2,
    says: /invalid payload for task "strict": n: n must be a number/,
  },
  {
    args: ['enqueue', 'echo', '--queue', ' mail'],
    code: 2,
    says: /--queue must not be blank or start or end with whitespace, got " mail"/,
  },
  {
    args: ['enqueue', 'echo', '--concurrency-limit', '3'],
    code: 2,
    says: /--concurrency-limit needs a --concurrency-key/,
  },
  // Listing filters and a queue name: they reported the missing database instead (exit 1).
  { args: ['jobs', 'list', '--task', ''], code: 2, says: /--task must be a non-empty string, got ""/ },
  {
    args: ['jobs', 'list', '--search', 's'.repeat(201)],
    code: 2,
    says: /--search must be at most 200 bytes of UTF-8, got 201/,
  },
  { args: ['schedules', 'list', '--prefix', ''], code: 2, says: /--prefix must be a non-empty string/ },
  { args: ['schedules', 'list', '--cursor', 'x'], code: 2, says: /invalid schedule list cursor/ },
  {
    args: ['queues', 'pause', ' mail'],
    code: 2,
    says: /queue must not be blank or start or end with whitespace, got " mail"/,
  },
];

function expectRefused(result: CliResult, c: Case): void {
  const context = `nightshift ${c.args.join(' ')}\nstderr: ${result.stderr}`;
  expect(result.code, context).toBe(c.code);
  expect(result.stdout, context).toBe('');
  expect(result.stderr.split('\n'), context).toEqual([expect.stringMatching(c.says) as string, '']);
  expect(result.stderr, context).toMatch(/^nightshift: /);
}

async function runCases(cases: Case[], db: string): Promise<CliResult[]> {
  return runCliMany(cases.map((c) => ({ args: [...c.args, '--db', db], options: { cwd: c.cwd ?? dir } })));
}

describe('bad input is refused before the database is opened', () => {
  it('on SQLite: one line, the input named, and no database file appears', async () => {
    const cases = [...SERVICES, ...CONTROLS];
    const results = await runCases(cases, `sqlite:${join(dir, 'never.db')}`);
    results.forEach((result, i) => expectRefused(result, cases[i]!));
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('.db'))).toEqual([]);
  });

  it('on PostgreSQL: one line, the input named, and the empty database gets no tables', async () => {
    const cases = [...SERVICES, ...CONTROLS];
    const results = await runCases(cases, pg.url);
    results.forEach((result, i) => expectRefused(result, cases[i]!));
    const store = await openStore(pg.url);
    try {
      expect((await store.schemaVersion()).current).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('a port already in use', () => {
  it('serve and start refuse it before their database is created or migrated', async () => {
    // Another process's server on the port the API would take.
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const fresh = join(dir, 'port-in-use');
      mkdirSync(fresh);
      const results = await runCliMany(
        [
          ['serve', '--db', `sqlite:${join(fresh, 'serve.db')}`],
          ['start', '--db', `sqlite:${join(fresh, 'start.db')}`],
          ['serve', '--db', pg.url],
        ].map((args) => ({ args: [...args, '--port', String(port)], options: { cwd: dir } })),
      );
      for (const result of results) {
        expect(result.code, result.stderr).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(
          new RegExp(`^nightshift: cannot listen on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE[^\n]*\n$`),
        );
      }
      // Before, each SQLite file was created and migrated, and the PostgreSQL database got its tables.
      expect(readdirSync(fresh)).toEqual([]);
      const store = await openStore(pg.url);
      try {
        expect((await store.schemaVersion()).current).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('an empty database URL', () => {
  it('is a usage error, from --db or NIGHTSHIFT_DB, and no default database appears', async () => {
    const empty = join(dir, 'empty-url');
    mkdirSync(empty);
    const results = await runCliMany([
      { args: ['migrate', '--db', ''], options: { cwd: empty } },
      { args: ['migrate'], options: { cwd: empty, env: { NIGHTSHIFT_DB: '' } } },
      {
        args: ['--db', ' ', 'worker', '--config', join(dir, 'nightshift.config.mjs')],
        options: { cwd: empty },
      },
      { args: ['jobs', 'list', '--json'], options: { cwd: empty, env: { NIGHTSHIFT_DB: '' } } },
    ]);
    const [flag, env, blank, json] = results;
    for (const [result, given] of [
      [flag!, '--db is empty'],
      [env!, 'NIGHTSHIFT_DB is set but empty'],
      [blank!, '--db is empty'],
    ] as const) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `nightshift: database URL is empty (${given}): give one, such as sqlite:./nightshift.db or postgres://user@host:port/db\n`,
      );
    }
    expect(json!.code).toBe(2);
    expect(JSON.parse(json!.stderr)).toEqual({
      error: { code: 'invalid_argument', message: expect.stringMatching(/^database URL is empty/) as string },
    });
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('a malformed PostgreSQL URL', () => {
  it('is a usage error naming the URL, its password hidden', async () => {
    const results = await runCliMany(
      [
        ['migrate', '--db', 'postgres://postgres@127.0.0.1:notaport/x'],
        ['jobs', 'list', '--db', 'postgres://someone:s3cret@127.0.0.1:99999/x'],
      ].map((args) => ({ args, options: { cwd: dir } })),
    );
    expect(results.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [
        2,
        '',
        'nightshift: malformed database URL "postgres://postgres@127.0.0.1:notaport/x": use postgres://user@host:port/db\n',
      ],
      [
        2,
        '',
        'nightshift: malformed database URL "postgres://someone:***@127.0.0.1:99999/x": use postgres://user@host:port/db\n',
      ],
    ]);
  });
});
