import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { unreadableFile } from '../../src/cli/arguments.js';
import { inFlagWords, optionNamed } from '../../src/cli/flag-words.js';
import type { Store } from '../../src/store/store.js';
import { CLI_TEST_TIMEOUT_MS, runCli, runCliMany, tempDir } from './cli-process.js';
import { allJobs, openTestStore, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'jobs.db')}`;
let store: Store;
let goodJobId: string;

beforeAll(async () => {
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  const good = await runCli(['enqueue', 'echo', '--payload', '{"ok":true}', '--db', db], { cwd: dir });
  expect(good.code, good.stderr).toBe(0);
  goodJobId = good.stdout.trim();
  store = await openTestStore(db);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('usage errors', () => {
  // Twenty-odd CLI runs: twice the usual bound on a shared machine.
  it(
    'a bad flag or value exits 2 with one line on stderr and writes nothing to the database',
    { timeout: 2 * CLI_TEST_TIMEOUT_MS },
    async () => {
      writeFileSync(join(dir, 'payloads.ndjson'), '{"n":1}\n{"n":\n');
      // The fourth line is the third payload (item 2 to the library): the error names line 4.
      writeFileSync(join(dir, 'payloads-blank.ndjson'), '{"n":1}\n\n{"n":2}\n{"n":"three"}\n');
      mkdirSync(join(dir, 'payloads-dir'));
      const cases: Array<{ args: string[]; says: RegExp }> = [
        { args: ['enqueue', 'echo', '--payload', '{"n":'], says: /--payload is not valid JSON/ },
        { args: ['enqueue', 'echo', '--delay', '-5'], says: /--delay must be at least 0, got -5/ },
        { args: ['enqueue', 'echo', '--delay', '5s'], says: /--delay must be an integer, got "5s"/ },
        { args: ['enqueue', 'echo', '--run-at', 'tomorrow'], says: /--run-at must be an ISO 8601 date-time/ },
        {
          args: ['enqueue', 'echo', '--run-at', '2026-02-30T06:00:00Z'],
          says: /^nightshift: --run-at "2026-02-30T06:00:00Z" is not a day: 2026-02 has 28 days$/,
        },
        { args: ['enqueue', 'echo', '--priority', '1.5'], says: /--priority must be an integer/ },
        { args: ['enqueue', 'echo', '--max-attempts', '0'], says: /--max-attempts must be at least 1/ },
        {
          args: ['enqueue', 'echo', '--delay', '5', '--run-at', '2030-01-01T00:00:00Z'],
          says: /--delay or --run-at, not both/,
        },
        { args: ['enqueue', 'echo', '--from', 'payloads.ndjson'], says: /--from line 2 is not valid JSON/ },
        // The reason in plain words, not Node's `ENOENT: no such file or directory, open '...'`.
        {
          args: ['enqueue', 'echo', '--from', 'missing.ndjson'],
          says: /^nightshift: --from missing\.ndjson: no such file$/,
        },
        {
          args: ['enqueue', 'echo', '--from', 'payloads-dir'],
          says: /^nightshift: --from payloads-dir: is a directory, not a file$/,
        },
        {
          args: ['enqueue', 'strict', '--from', 'payloads-blank.ndjson'],
          says: /--from line 4: invalid payload for task "strict": n: n must be a number/,
        },
        {
          args: ['enqueue', 'no-such-task'],
          says: /unknown task "no-such-task": .*nightshift\.config\.mjs does not declare it/,
        },
        {
          args: ['enqueue', 'strict', '--payload', '{"n":"seven"}'],
          says: /invalid payload for task "strict": n: n must be a number/,
        },
        { args: ['enqueue'], says: /missing required argument 'task'/ },
        { args: ['enqueue', 'echo', '--colour', 'red'], says: /unknown option '--colour'/ },
        {
          args: ['jobs', 'list', '--state', 'done'],
          says: /--state must be one of scheduled, queued, running, completed, failed, cancelled/,
        },
        { args: ['jobs', 'list', '--limit', '0'], says: /--limit must be at least 1/ },
        { args: ['jobs', 'list', '--limit', '1001'], says: /--limit must be at most 1000, got 1001/ },
        // One date parser for every date flag: `new Date` takes February 30 for March 2.
        {
          args: ['jobs', 'list', '--created-after', '2026-02-30'],
          says: /--created-after "2026-02-30" is not a day: 2026-02 has 28 days/,
        },
        {
          args: ['jobs', 'list', '--created-before', '2026-13-01'],
          says: /--created-before "2026-13-01" is not a day: a year has 12 months/,
        },
        {
          args: ['jobs', 'list', '--created-before', 'yesterday'],
          says: /--created-before must be an ISO 8601/,
        },
        {
          args: ['schedules', 'create', 'z', '--task', 'echo', '--cron', '0 6 * * *', '--timezone', ''],
          says: /schedule "z": --timezone must be a non-empty IANA time zone name such as Europe\/London$/,
        },
        // The library's refusals name the flag typed, not the option the CLI passed it as.
        {
          args: ['schedules', 'list', '--prefix', ''],
          says: /^nightshift: --prefix must be a non-empty string, got ""$/,
        },
        {
          args: ['enqueue', 'echo', '--key', ''],
          says: /^nightshift: --key must be a non-empty string, got ""$/,
        },
        {
          args: ['enqueue', 'echo', '--concurrency-limit', '2'],
          says: /^nightshift: --concurrency-limit needs a --concurrency-key: the limit counts the running jobs/,
        },
        { args: ['enqueue', 'echo', '--group', ''], says: /^nightshift: --group must be a non-empty string/ },
        // An empty id or name (an unset shell variable) is the command line's fault, not a lookup's.
        { args: ['jobs', 'show', ''], says: /^nightshift: job id is empty$/ },
        { args: ['jobs', 'cancel', ' '], says: /^nightshift: job id is empty$/ },
        { args: ['schedules', 'trigger', ''], says: /^nightshift: schedule id is empty$/ },
        // An id no schedule can have is the command line's fault too, not "not found" (exit 1).
        {
          args: ['schedules', 'show', 'bad id!'],
          says: /^nightshift: schedule id "bad id!" must be 1-200 letters, digits, '\.', '_', ':' or '-'$/,
        },
        {
          args: ['schedules', 'pause', 'a/b'],
          says: /^nightshift: schedule id "a\/b" must be 1-200 letters/,
        },
        { args: ['queues', 'pause', ''], says: /^nightshift: queue name is empty$/ },
        { args: ['tokens', 'revoke', ''], says: /^nightshift: token id is empty$/ },
        { args: ['enqueue', ''], says: /^nightshift: task name is empty$/ },
        // Every number flag has a maximum: each next slot is computed, and 99,999,999 took 15 s and 225 MB.
        {
          args: ['schedules', 'show', 's1', '--next', '99999999'],
          says: /--next must be at most 1000, got 99999999/,
        },
        { args: ['schedules', 'show', 's1', '--slots', '1001'], says: /--slots must be at most 1000/ },
        {
          args: ['enqueue', 'echo', '--delay', '3155760000001'],
          says: /--delay must be at most 3155760000000/,
        },
        {
          args: ['schedules', 'create', 'z', '--task', 'echo', '--every', '1000', '--jitter', '2147483648'],
          says: /--jitter must be at most 2147483647/,
        },
        { args: ['worker', '--concurrency', 'lots'], says: /--concurrency must be an integer/ },
        // A blank name in a list (an unset variable) would serve or require fewer than named.
        {
          args: ['worker', '--queues', 'mail,,sms'],
          says: /^nightshift: --queues "mail,,sms" has an empty item \(item 2\): separate names with single commas$/,
        },
        { args: ['worker', '--queues', 'mail,'], says: /--queues "mail," has an empty item \(item 2\)/ },
        { args: ['worker', '--queues', ' , '], says: /--queues " , " has an empty item \(item 1\)/ },
        { args: ['worker', '--queues', ''], says: /^nightshift: --queues needs at least one name$/ },
        { args: ['start', '--labels', 'gpu,,eu'], says: /--labels "gpu,,eu" has an empty item \(item 2\)/ },
        {
          args: ['enqueue', 'echo', '--requires', ',gpu'],
          says: /--requires ",gpu" has an empty item \(item 1\)/,
        },
        {
          args: ['start', '--demo', '--config', 'nightshift.config.mjs'],
          says: /--demo brings its own config/,
        },
        {
          args: ['start', '--demo', '--host', '0.0.0.0'],
          says: /--demo serves its dashboard on 127\.0\.0\.1 only/,
        },
        { args: ['start', '--serve'], says: /--serve goes with --demo/ },
        { args: ['no-such-command'], says: /unknown command 'no-such-command'/ },
        // Commander's own errors, in nightshift's one line (its suggestion joined to it).
        { args: ['jobs', 'lst'], says: /^nightshift: unknown command 'lst' \(Did you mean list\?\)$/ },
        {
          args: ['jobs', 'list', '--stat', 'failed'],
          says: /^nightshift: unknown option '--stat' \(Did you mean --state\?\)$/,
        },
        {
          args: ['jobs'],
          says: /^nightshift: missing command after "nightshift jobs": list, show, logs, retry, cancel/,
        },
        {
          args: ['enqueue', 'echo', '--priority'],
          says: /^nightshift: option '--priority <n>' argument missing$/,
        },
      ];

      const results = await runCliMany(
        cases.map((c) => ({ args: [...c.args, '--db', db], options: { cwd: dir } })),
      );

      results.forEach((result, i) => {
        const { args, says } = cases[i]!;
        const context = `nightshift ${args.join(' ')}\nstderr: ${result.stderr}`;
        expect(result.code, context).toBe(2);
        expect(result.stdout, context).toBe('');
        expect(result.stderr.trim().split('\n'), context).toHaveLength(1);
        expect(result.stderr.trim(), context).toMatch(says);
        expect(result.stderr, context).toMatch(/^nightshift: /);
      });

      const jobs = await allJobs(store);
      expect(jobs.map((job) => job.id)).toEqual([goodJobId]);
    },
  );

  it('a file that cannot be read is named with the reason in plain words', () => {
    // Run as root, the CLI reads any file: the unreadable one is the error the system would give.
    const denied = Object.assign(new Error("EACCES: permission denied, open 'secret.ndjson'"), {
      code: 'EACCES',
    });
    expect(unreadableFile('--from', 'secret.ndjson', denied)).toMatchObject({
      code: 'invalid_argument',
      message: '--from secret.ndjson: permission denied: this user cannot read it',
    });
    // A reason without plain words keeps the system's.
    const other = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    expect(unreadableFile('--from', '-', other).message).toBe('--from -: EIO: i/o error, read');
  });

  it('names a flag in a refusal only where the user typed it', () => {
    const command = optionNamed(
      new Command('enqueue')
        .exitOverride()
        .option('--key <key>')
        .option('--concurrency-key <key>')
        .option('--queue <name>'),
      { '--key': 'idempotencyKey' },
    );
    command.parse(['--key', '', '--concurrency-key', 'k'], { from: 'user' });
    expect(inFlagWords('idempotencyKey must be a non-empty string, got ""', command)).toBe(
      '--key must be a non-empty string, got ""',
    );
    // --queue was not typed: a queue from the config or the task is refused in the library's words.
    expect(inFlagWords('queue must be a non-empty string, got ""', command)).toBe(
      'queue must be a non-empty string, got ""',
    );
    // A task's own key function is not the flag, whatever was typed.
    expect(inFlagWords('task "t": concurrencyKey must be a non-empty string, got ""', command)).toBe(
      'task "t": concurrencyKey must be a non-empty string, got ""',
    );
  });

  it('with --json the error line is {"error":{"code","message"}}', async () => {
    const result = await runCli(['enqueue', 'echo', '--payload', '{', '--json', '--db', db], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: 'invalid_argument',
        message: expect.stringMatching(/^--payload is not valid JSON/) as string,
      },
    });
  });

  it('commander errors with --json are the JSON error too, never commander text', async () => {
    const cases = [
      ['jobs', 'list', '--colour', '--json'],
      ['--json', 'jobs', 'frobnicate'],
      ['--json', 'schedules'],
    ];
    const results = await runCliMany(
      cases.map((args) => ({ args: [...args, '--db', db], options: { cwd: dir } })),
    );
    results.forEach((result, i) => {
      const context = `nightshift ${cases[i]!.join(' ')}\nstderr: ${result.stderr}`;
      expect(result.code, context).toBe(2);
      expect(result.stdout, context).toBe('');
      expect(JSON.parse(result.stderr), context).toEqual({
        error: { code: 'invalid_argument', message: expect.any(String) as string },
      });
    });
  });

  it('takes --db, --config and --json before the subcommand as well as after it', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const config = join(dir, 'nightshift.config.mjs');
    const [migrated, listed, shown, envOverridden] = await runCliMany([
      { args: ['--db', db, 'migrate', '--json'], options: { cwd: dir } },
      { args: ['--json', '--db', db, 'jobs', 'list'], options: { cwd: dir } },
      { args: ['jobs', '--db', db, 'show', goodJobId, '--json'], options: { cwd: dir } },
      // A typed --db wins over NIGHTSHIFT_DB wherever it is typed; --config before the command works too.
      {
        args: ['--config', config, '--db', db, 'enqueue', 'echo', '--json'],
        options: { cwd: elsewhere, env: { NIGHTSHIFT_DB: 'sqlite:./not-this.db' } },
      },
    ]);
    expect(migrated!.code, migrated!.stderr).toBe(0);
    expect(JSON.parse(migrated!.stdout)).toMatchObject({ to: expect.any(Number) as number });
    expect(listed!.code, listed!.stderr).toBe(0);
    expect((JSON.parse(listed!.stdout) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id)).toContain(
      goodJobId,
    );
    expect(shown!.code, shown!.stderr).toBe(0);
    expect(JSON.parse(shown!.stdout)).toMatchObject({ job: { id: goodJobId } });
    expect(envOverridden!.code, envOverridden!.stderr).toBe(0);
    const { id } = JSON.parse(envOverridden!.stdout) as { id: string };
    expect(await store.jobGet({ id })).toMatchObject({ task: 'echo' });
    expect(existsSync(join(elsewhere, 'not-this.db'))).toBe(false);
    await store.jobCancel({ id });
  });

  it('without a config, enqueue refuses every task before creating the database file', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const result = await runCli(['enqueue', 'echo', '--db', 'sqlite:./fresh.db'], { cwd: empty });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown task "echo": there is no config module here');
    expect(existsSync(join(empty, 'fresh.db'))).toBe(false);
  });
});
