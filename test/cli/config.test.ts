import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { NightshiftError } from '../../src/errors.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir as makeTempDir } from './cli-process.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const CONFIG_MODULE = pathToFileURL(resolve(import.meta.dirname, '../../src/config.ts')).href;

describe('config loading', () => {
  it('loads a TypeScript config from the working directory without a build', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'nightshift.config.ts'),
      `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE)};
       const greet = (payload: { name: string }): string => 'hello ' + payload.name;
       export default defineConfig({ db: 'sqlite:./from-config.db', tasks: { greet }, worker: { concurrency: 3 } });`,
    );
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded?.file).toBe(join(dir, 'nightshift.config.ts'));
    expect(loaded?.config.db).toBe('sqlite:./from-config.db');
    expect(loaded?.config.worker?.concurrency).toBe(3);
    const greet = loaded?.config.tasks?.['greet'] as (payload: { name: string }) => string;
    expect(greet({ name: 'night' })).toBe('hello night');
  });

  it('resolves to null when there is no config and none was asked for', async () => {
    expect(await loadConfig({ cwd: tempDir() })).toBeNull();
  });

  it('names the file and the cause when --config points nowhere, at a directory or at JSON, lacks a default export or has no tasks', async () => {
    const dir = tempDir();
    await expect(loadConfig({ cwd: dir, path: 'missing.mjs' })).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringContaining(join(dir, 'missing.mjs')) as string,
    });

    mkdirSync(join(dir, 'configs'));
    await expect(loadConfig({ cwd: dir, path: 'configs' })).rejects.toMatchObject({
      code: 'config_error',
      message: `config ${join(dir, 'configs')} is a directory: give the config module's file, such as configs/nightshift.config.ts`,
    });

    // Node asked for an import attribute, as though the JSON could be made to load.
    writeFileSync(join(dir, 'nightshift.json'), '{ "tasks": {} }');
    await expect(loadConfig({ cwd: dir, path: 'nightshift.json' })).rejects.toMatchObject({
      code: 'config_error',
      message: `config ${join(dir, 'nightshift.json')} is JSON: a config is a module (.ts, .mts, .js or .mjs) whose default export holds the tasks' handlers, which JSON cannot`,
    });

    writeFileSync(join(dir, 'named.mjs'), 'export const tasks = {};');
    await expect(loadConfig({ cwd: dir, path: 'named.mjs' })).rejects.toThrow(
      /named\.mjs has no default export/,
    );

    writeFileSync(join(dir, 'no-tasks.mjs'), 'export default { db: "sqlite::memory:" };');
    const error = await loadConfig({ cwd: dir, path: 'no-tasks.mjs' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as Error).message).toMatch(/no-tasks\.mjs: "tasks" must be an object/);
  });

  it('refuses config keys nothing reads and bad queue settings; http and queues are read', async () => {
    const dir = tempDir();
    const write = (name: string, body: string): string => {
      writeFileSync(join(dir, name), `export default { tasks: { echo: (p) => p }, ${body} };`);
      return name;
    };
    const queues = await loadConfig({
      cwd: dir,
      path: write('queues.mjs', 'queues: { mail: { concurrency: 2 } }'),
    });
    expect(queues?.config.queues).toEqual({ mail: { concurrency: 2 } });
    const defaults = await loadConfig({
      cwd: dir,
      path: write(
        'queue-defaults.mjs',
        'queues: { sync: { concurrencyKey: (p, task) => task + p.tenant, concurrencyLimit: 3, group: (p) => p.tenant } }',
      ),
    });
    expect(defaults?.config.queues?.['sync']).toMatchObject({ concurrencyLimit: 3 });
    const refused: Array<[string, RegExp]> = [
      ['queues: { mail: { concurrency: 0 } }', /queues\.mail: concurrency must be an integer from 1/],
      [
        'queues: { mail: { limit: 2 } }',
        /queues\.mail: unknown setting "limit" \(known: concurrency, rate, concurrencyKey, concurrencyLimit, group\)/,
      ],
      [
        'queues: [1]',
        /queues must be an object of queue name to \{ concurrency, rate, concurrencyKey, concurrencyLimit, group \}/,
      ],
      ['queues: { mail: { rate: { limit: 2 } } }', /queues\.mail: rate: periodMs must be an integer/],
      // A queue's job defaults: functions, and a limit in the range of a task's.
      [
        "queues: { mail: { concurrencyKey: 'tenant' } }",
        /queues\.mail: concurrencyKey must be a function of the payload and the task name/,
      ],
      ['queues: { mail: { group: 1 } }', /queues\.mail: group must be a function/],
      [
        'queues: { mail: { concurrencyLimit: 0 } }',
        /queues\.mail: concurrencyLimit must be an integer from 1 to 2147483647, got 0/,
      ],
      ['queues: { mail: { concurrencyLimit: 1.5 } }', /queues\.mail: concurrencyLimit must be an integer/],
    ];
    for (const [index, [body, message]] of refused.entries()) {
      // A file name of its own each: an imported module is cached by its path.
      await expect(
        loadConfig({ cwd: dir, path: write(`bad-queues-${index}.mjs`, body) }),
      ).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringMatching(message) as string,
      });
    }
    await expect(
      loadConfig({ cwd: dir, path: write('typo.mjs', 'workers: { concurrency: 2 }') }),
    ).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(
        /typo\.mjs: unknown key "workers" \(known: db, tasks, contracts, implementations, schedules, worker, http, httpJobs, alerts, enqueue, queues\)/,
      ) as string,
    });
    const http = await loadConfig({
      cwd: dir,
      path: write('http.mjs', "http: { port: 8080 }, db: 'sqlite::memory:'"),
    });
    expect(http?.config.http).toEqual({ port: 8080 });

    // Through the CLI: exit 1, one line, before any database is opened.
    write('nightshift.config.mjs', 'queues: { mail: { concurrency: -1 } }');
    const result = await runCli(['worker', '--db', 'sqlite:./jobs.db', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'config_error' } });
    expect(existsSync(join(dir, 'jobs.db'))).toBe(false);
  });

  it('checks alerts: thresholds per queue or default, unknown keys and bad numbers refused', async () => {
    const dir = tempDir();
    const write = (name: string, alerts: string): string => {
      writeFileSync(join(dir, name), `export default { tasks: { echo: (p) => p }, alerts: ${alerts} };`);
      return name;
    };
    const good = await loadConfig({
      cwd: dir,
      path: write(
        'good.mjs',
        '{ queueDepth: 100, oldestReadyAgeMs: 60000, queues: { mail: { queueDepth: 5 } }, stuckJobGraceMs: 0, missedSlotsWindowMs: 600000, intervalMs: 5000 }',
      ),
    });
    expect(good?.config.alerts?.queues).toEqual({ mail: { queueDepth: 5 } });
    const refused: Array<[string, RegExp]> = [
      ['{ depth: 3 }', /alerts: unknown key "depth"/],
      ['{ queues: { mail: { concurrency: 1 } } }', /alerts\.queues\["mail"\]: unknown key "concurrency"/],
      // Names no queue can have, refused as a config's `queues` refuses them: thresholds that never apply.
      [
        "{ queues: { '': { queueDepth: 1 } } }",
        /bad-2\.mjs: alerts\.queues: queue name must be a non-empty string, got ""$/,
      ],
      [
        "{ queues: { 'mail ': { queueDepth: 1 } } }",
        /alerts\.queues: queue name must not be blank or start or end with whitespace, got "mail "$/,
      ],
      ['{ queueDepth: -1 }', /alerts\.queueDepth must be an integer from 0/],
      ["{ oldestReadyAgeMs: '1m' }", /alerts\.oldestReadyAgeMs must be an integer/],
      ['{ intervalMs: 0 }', /alerts\.intervalMs must be an integer from 1/],
      ['[]', /alerts must be an object/],
    ];
    for (const [index, [alerts, message]] of refused.entries()) {
      await expect(loadConfig({ cwd: dir, path: write(`bad-${index}.mjs`, alerts) })).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringMatching(message) as string,
      });
    }
  });

  it('checks worker and http settings when the config loads, not when a command starts them', async () => {
    const dir = tempDir();
    const write = (name: string, settings: string): string => {
      writeFileSync(join(dir, name), `export default { tasks: { echo: (p) => p }, ${settings} };`);
      return name;
    };
    const good = await loadConfig({
      cwd: dir,
      path: write(
        'good.mjs',
        "worker: { concurrency: 3, graceMs: 500 }, http: { host: '127.0.0.1', port: 0, readOnly: true, bodyLimit: 65536 }",
      ),
    });
    expect(good?.config.worker).toEqual({ concurrency: 3, graceMs: 500 });
    const refused: Array<[string, RegExp]> = [
      [
        'worker: { concurency: 3 }',
        /unknown worker setting "concurency"; the options are queues, .*, graceMs$/,
      ],
      ['worker: { concurrency: 0 }', /concurrency must be an integer from 1/],
      [
        'http: { prot: 7777 }',
        /unknown http setting "prot"; the options are host, port, readOnly, bodyLimit$/,
      ],
      ['http: 7777', /http settings must be an object/],
      ["http: { port: 'abc' }", /http\.port must be an integer from 0 to 65535, got "abc"$/],
      ['http: { port: 70000 }', /http\.port must be an integer from 0 to 65535, got 70000$/],
      ["http: { host: '' }", /http\.host must be a non-empty string/],
      ["http: { readOnly: 'yes' }", /http\.readOnly must be true or false, got "yes"$/],
      ['http: { bodyLimit: 100 }', /http\.bodyLimit must be an integer from 1024 to 1073741824, got 100$/],
      ['worker: { graceMs: 2 ** 31 }', /worker setting graceMs must be an integer from 0 to 2147483647/],
    ];
    for (const [index, [settings, message]] of refused.entries()) {
      await expect(loadConfig({ cwd: dir, path: write(`bad-${index}.mjs`, settings) })).rejects.toMatchObject(
        {
          code: 'config_error',
          message: expect.stringMatching(message) as string,
        },
      );
    }
  });

  it('checks schedules when the config loads, against its own tasks, before any database is opened', async () => {
    const dir = tempDir();
    const write = (name: string, schedules: string): string => {
      writeFileSync(
        join(dir, name),
        `export default { tasks: { echo: (p) => p }, queues: { mail: { concurrency: 3 } }, schedules: ${schedules} };`,
      );
      return name;
    };
    const good = await loadConfig({
      cwd: dir,
      path: write('good.mjs', "[{ id: 'hourly', task: 'echo', cron: '0 * * * *' }]"),
    });
    expect(good?.config.schedules).toHaveLength(1);
    const refused: Array<[string, RegExp]> = [
      ["[{ id: 'a', task: 'export', cron: '0 * * * *' }]", /bad-0\.mjs: schedule "a": unknown task "export"/],
      ["[{ id: 'a', task: 'echo', cron: 'bad' }]", /schedule "a": cron "bad" must have 5 fields/],
      [
        "[{ id: 'a', task: 'echo', everyMs: 1000 }, { id: 'a', task: 'echo', everyMs: 2000 }]",
        /schedule "a" is declared twice/,
      ],
      ["{ id: 'a', task: 'echo', everyMs: 1000 }", /"schedules" must be an array/],
      ["[{ id: 'a', task: 'echo', cron: '0 0 30 2 *' }]", /schedule "a": cron "0 0 30 2 \*" never fires/],
      ['[null]', /a schedule must be an object, got null/],
    ];
    for (const [index, [schedules, message]] of refused.entries()) {
      await expect(
        loadConfig({ cwd: dir, path: write(`bad-${index}.mjs`, schedules) }),
      ).rejects.toMatchObject({ code: 'config_error', message: expect.stringMatching(message) as string });
    }
    // Through the CLI: exit 1, one line naming the file, no database and no queue setting written.
    write('nightshift.config.mjs', "[{ id: 'a', task: 'echo', cron: 'bad' }]");
    const result = await runCli(['scheduler', '--db', 'sqlite:./jobs.db'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^nightshift: config .*nightshift\.config\.mjs: schedule "a": .*bad/,
    );
    expect(existsSync(join(dir, 'jobs.db'))).toBe(false);
  });

  it('checks task definitions and httpJobs when the config loads, naming the file, before any database is opened', async () => {
    const dir = tempDir();
    const write = (name: string, body: string): string => {
      writeFileSync(join(dir, name), `export default { ${body} };`);
      return name;
    };
    const refused: Array<[string, RegExp]> = [
      [
        'tasks: { echo: { handler: (p) => p, maxAttempts: 0 } }',
        /bad-0\.mjs: task "echo": maxAttempts must be an integer from 1/,
      ],
      [
        "tasks: {}, httpJobs: { allowHosts: 'api.example.com' }",
        /bad-1\.mjs: httpJobs\.allowHosts must be an array/,
      ],
      ['tasks: {}, httpJobs: { allowHosts: [], bogus: 1 }', /bad-2\.mjs: httpJobs: unknown setting "bogus"/],
      [
        "tasks: { 'http.request': (p) => p }, httpJobs: { allowHosts: [] }",
        /bad-3\.mjs: task "http\.request" is built in/,
      ],
    ];
    for (const [index, [body, message]] of refused.entries()) {
      await expect(loadConfig({ cwd: dir, path: write(`bad-${index}.mjs`, body) })).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringMatching(message) as string,
      });
    }
    // Through the CLI: `migrate` and `serve` used to create the database before (or without) these checks.
    const file = join(dir, 'nightshift.config.mjs');
    writeFileSync(file, 'export default { tasks: { echo: { handler: (p) => p, maxAttempts: 0 } } };');
    const [migrate, serve] = await Promise.all([
      runCli(['migrate', '--db', 'sqlite:./jobs.db'], { cwd: dir }),
      runCli(['serve', '--db', 'sqlite:./served.db', '--port', '0'], { cwd: dir }),
    ]);
    for (const result of [migrate, serve]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `nightshift: config ${file}: task "echo": maxAttempts must be an integer from 1 to 2147483647, got 0\n`,
      );
    }
    expect(existsSync(join(dir, 'jobs.db'))).toBe(false);
    expect(existsSync(join(dir, 'served.db'))).toBe(false);
  });

  it('checks enqueue: the wait bounds, unknown keys and bad numbers refused', async () => {
    const dir = tempDir();
    const write = (name: string, enqueue: string): string => {
      writeFileSync(join(dir, name), `export default { tasks: { echo: (p) => p }, enqueue: ${enqueue} };`);
      return name;
    };
    const good = await loadConfig({
      cwd: dir,
      path: write('good.mjs', '{ maxWaitMs: 2000, maxPending: 50 }'),
    });
    expect(good?.config.enqueue).toEqual({ maxWaitMs: 2000, maxPending: 50 });
    const refused: Array<[string, RegExp]> = [
      ['{ maxWait: 3 }', /enqueue: unknown key "maxWait"/],
      ['{ maxPending: 0 }', /enqueue\.maxPending must be an integer from 1/],
      ["{ maxWaitMs: '1s' }", /enqueue\.maxWaitMs must be an integer/],
      ['[]', /enqueue must be an object/],
    ];
    for (const [index, [enqueue, message]] of refused.entries()) {
      await expect(loadConfig({ cwd: dir, path: write(`bad-${index}.mjs`, enqueue) })).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringMatching(message) as string,
      });
    }
  });

  it('a config that throws fails the command with exit 1 and one line naming the file and the cause', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'nightshift.config.mjs'),
      "throw new Error('cannot reach the secrets vault');\nexport default {};",
    );

    const human = await runCli(['worker', '--db', 'sqlite:./jobs.db'], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    const lines = human.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(join(dir, 'nightshift.config.mjs'));
    expect(lines[0]).toContain('cannot reach the secrets vault');

    const json = await runCli(['worker', '--db', 'sqlite:./jobs.db', '--json'], { cwd: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'config_error' } });
  });

  it('a TypeScript config with a syntax error fails with one line saying where', async () => {
    const dir = tempDir();
    const file = join(dir, 'nightshift.config.ts');
    writeFileSync(file, 'export default {\n  tasks: { echo: (p: unknown) => p }\n  worker: {},\n};\n');
    await expect(loadConfig({ cwd: dir })).rejects.toMatchObject({
      code: 'config_error',
      message: `config ${file} failed to load: ParseError: Unexpected token, expected "," at ${file}:3:2`,
    });
  });

  it('a db that is not a URL string is a config error naming the file, and nothing is created', async () => {
    const dir = tempDir();
    const file = join(dir, 'nightshift.config.mjs');
    writeFileSync(file, 'export default { db: 42, tasks: { echo: (p) => p } };');
    const [migrate, list] = await Promise.all([
      runCli(['migrate'], { cwd: dir }),
      runCli(['jobs', 'list', '--json'], { cwd: dir }),
    ]);
    const message = `config ${file}: "db" must be a database URL string such as sqlite:./nightshift.db or postgres://user@host:port/db, got 42`;
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toBe(`nightshift: ${message}\n`);
    expect(list.code).toBe(1);
    expect(JSON.parse(list.stderr)).toEqual({ error: { code: 'config_error', message } });
    expect(readdirSync(dir)).toEqual(['nightshift.config.mjs']);
  });

  it('migrate with --db still reads the config: a broken one is refused and nothing is created', async () => {
    const dir = tempDir();
    const file = join(dir, 'nightshift.config.mjs');
    writeFileSync(file, 'export default { tasks: { echo: (p) => p }, workers: {} };');
    const result = await runCli(['migrate', '--db', 'sqlite:./jobs.db'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `nightshift: config ${file}: unknown key "workers" (known: db, tasks, contracts, implementations, schedules, worker, http, httpJobs, alerts, enqueue, queues)\n`,
    );
    expect(readdirSync(dir)).toEqual(['nightshift.config.mjs']);
  });

  it('worker without any config says where it looked', async () => {
    const dir = tempDir();
    const result = await runCli(['worker', '--db', 'sqlite:./jobs.db'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no nightshift.config.{ts,mts,js,mjs} in ${dir}`);
  });
});
