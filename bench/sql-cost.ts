/**
 * Server-side cost of the PostgreSQL hot-path statements, counted in CPU instructions rather than timed:
 * wall-clock timings on a shared machine drift by a third between identical runs, too much to rank
 * SQL changes, while instruction counts repeat to a fraction of a percent.
 *
 *   npm run bench:sql [-- --batch N] [-- --only TEXT]
 *
 * `--only TEXT` (or NIGHTSHIFT_BENCH_SQL_ONLY=text) runs only the cases whose name contains it (e.g. `claim`).
 *
 * Needs PostgreSQL 15's server binaries (NIGHTSHIFT_PG_BIN, default /usr/lib/postgresql/15/bin) and
 * valgrind. For each statement: a cluster of its own gets the real migrations and 20,000 jobs (queued,
 * or all claimed for the finish statements); with the server stopped, `postgres --single` runs the
 * statement prepared, 5 times and then 25 times, each under callgrind, from the same data; the
 * difference divided by 20 is one execution (100 jobs) without start-up or first-run costs.
 * Parameters become SQL expressions picking the first 100 claimed jobs, so the finish figures include
 * reading their ids and tokens (about 10k instructions per job, the `input` line), and the enqueue
 * figure includes making 100 new ids (its own `input` line).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { PLANNER_SETTINGS } from '../src/store/postgres/pool.js';
import { renderStatements } from '../src/store/postgres/sql/statements.js';
import { spawnArgs, startOwnPostgres, type OwnPostgres } from '../test/support/own-postgres.js';

const run = promisify(execFile);
const SCHEMA = 'sqlcost';
const JOBS = 20_000;
const { values: args } = parseArgs({
  options: {
    // Jobs per statement: small batches show what a statement costs whatever its size.
    batch: { type: 'string', default: '100' },
    // Only the cases whose name contains this text.
    only: { type: 'string' },
  },
});
const BATCH = Number(args.batch);
const WARM_RUNS = 5;
const MEASURED_RUNS = 20;

type Setup = 'queued' | 'running';
interface Case {
  name: string;
  setup: Setup;
  sql: string;
  /** A statement run before each execution, in both sessions (so it cancels out). */
  before?: string;
  /** The jobs' group, an SQL expression of their number g (1..JOBS); none when absent. */
  group?: string;
  /**
   * The jobs' concurrency key, an SQL expression of g, each with a limit that never blocks; none when
   * absent. The keys' rows exist before the first run, as they do once a key has been claimed.
   */
  key?: string;
}

const sql = renderStatements(SCHEMA);
// The next 100 running jobs: \`prepare\` numbers the claimed jobs in batches of 100 (a table of its own,
// indexed by batch), and each run first advances a sequence to the next batch. Reading them costs the
// same whatever the jobs table looks like, and is counted on its own line.
const running = (column: string): string =>
  `ARRAY(SELECT ${column} FROM ${SCHEMA}.running_batches
         WHERE batch = (SELECT currval('${SCHEMA}.running_batch')) ORDER BY id)`;
const NEXT_BATCH = `SELECT nextval('${SCHEMA}.running_batch');`;
const filled = (value: string, type: string): string => `array_fill(${value}::${type}, ARRAY[${BATCH}])`;
/** An optional column no job sets, as the store sends it (job-insert.ts `optional`). */
const empty = (type: string): string => `'{}'::${type}[]`;
// Ids for 100 new jobs, after the ones `prepare` made and the same on every run (see there).
const newIds = `ARRAY(SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(nextval('${SCHEMA}.new_ids')), 12, '0'))::uuid
                      FROM generate_series(1, ${BATCH}))`;
/**
 * A statement's text without its `--` comments (they may name parameters too) and with $n replaced by
 * `values[n - 1]`, highest first so that $1 never eats the start of $10.
 */
const bind = (text: string, values: string[]): string =>
  values.reduceRight(
    (out, value, index) => out.replaceAll(`$${index + 1}`, value),
    text.replace(/--[^\n]*/g, ''),
  );

const THOUSAND_GROUPS = "'g' || g % 1000";
const ONE_GROUP = "'one'";
const THOUSAND_KEYS = "'k' || g % 1000";

/** An enqueue of BATCH new jobs, without keys or with `keys` and `limits` (SQL arrays). */
const enqueue = (name: string, keyed?: { keys: string; limits: string }): Case => ({
  name,
  setup: 'queued',
  sql: bind(sql.jobInsertMany.text, [
    newIds,
    filled("'noop'", 'text'),
    filled("'default'", 'text'),
    filled(`'{"n":1}'`, 'text'),
    filled('0', 'int'),
    empty('timestamptz'),
    empty('float8'),
    filled('3', 'int'),
    empty('text'),
    keyed?.keys ?? empty('text'),
    empty('int'),
    empty('int'),
    empty('text'),
    empty('timestamptz'),
    empty('text'),
    "'c'",
    "'o'",
    empty('text'),
    keyed?.limits ?? empty('int'),
    empty('text'),
    empty('text'),
  ]),
});

/** A claim of BATCH jobs by `statement` from the queued jobs. */
const claim = (name: string, statement: keyof typeof sql, jobs: Pick<Case, 'group' | 'key'> = {}): Case => ({
  name,
  setup: 'queued',
  sql: bind(sql[statement].text, ["'w'", `${BATCH}`, '30000']),
  ...jobs,
});

/** A completion of the next BATCH running jobs by `statement`. */
const completion = (name: string, statement: keyof typeof sql, jobs: Pick<Case, 'key'> = {}): Case => ({
  name,
  setup: 'running',
  before: NEXT_BATCH,
  sql: bind(sql[statement].text, [
    running('id'),
    running('lease_token'),
    filled("'1'", 'text'),
    "'c'",
    "'o'",
  ]),
  ...jobs,
});

const CASES: Case[] = [
  {
    name: 'raw DELETE of queue rows ... FOR UPDATE SKIP LOCKED (baseline)',
    setup: 'queued',
    sql: `DELETE FROM ${SCHEMA}.job_queue WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${SCHEMA}.job_queue
          WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL ORDER BY priority DESC, run_at, id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED))`,
  },
  { name: `input: ids of ${BATCH} new jobs`, setup: 'queued', sql: `SELECT ${newIds}` },
  enqueue('enqueue (insertJobs)'),
  enqueue('enqueue (insertJobs), 1,000 keys', {
    keys: `ARRAY(SELECT ${THOUSAND_KEYS} FROM generate_series(1, ${BATCH}) AS g)`,
    limits: filled('1000', 'int'),
  }),
  claim('claim (jobClaim)', 'jobClaim'),
  claim('claim, lean (jobClaimLean)', 'jobClaimLean'),
  claim('claim (jobClaimGrouped), no groups', 'jobClaimGrouped'),
  claim('claim (jobClaimGrouped), 1,000 groups of 20 jobs', 'jobClaimGrouped', { group: THOUSAND_GROUPS }),
  claim(`claim (jobClaimGrouped), ${JOBS} groups of 1 job`, 'jobClaimGrouped', { group: "'g' || g" }),
  claim('claim (jobClaimGrouped), one group', 'jobClaimGrouped', { group: ONE_GROUP }),
  claim('claim, lean (jobClaimGroupedLean), 1,000 groups of 20 jobs', 'jobClaimGroupedLean', {
    group: THOUSAND_GROUPS,
  }),
  claim('claim, lean (jobClaimGroupedLean), one group', 'jobClaimGroupedLean', { group: ONE_GROUP }),
  claim('claim (jobClaim), 1,000 keys', 'jobClaim', { key: THOUSAND_KEYS }),
  {
    name: `input: ids and tokens of ${BATCH} running jobs`,
    setup: 'running',
    before: NEXT_BATCH,
    sql: `SELECT ${running('id')}, ${running('lease_token')}`,
  },
  completion('completion (jobFinishManyComplete)', 'jobFinishManyComplete'),
  completion('completion (jobFinishManyComplete), 1,000 keys', 'jobFinishManyComplete', {
    key: THOUSAND_KEYS,
  }),
  completion(
    'completion of jobs without limits (jobFinishManyCompleteNoLimits)',
    'jobFinishManyCompleteNoLimits',
  ),
  {
    name: 'failure for good, with run row (jobFinishMany)',
    setup: 'running',
    before: NEXT_BATCH,
    sql: bind(sql.jobFinishMany.text, [
      running('id'),
      running('lease_token'),
      filled("'failed'", 'text'),
      filled('NULL', 'text'),
      filled(`'{"message":"x"}'`, 'text'),
      filled('NULL', 'float8'),
      filled('false', 'boolean'),
      filled('NULL', 'text'),
      filled('false', 'boolean'),
      "'c'",
      "'o'",
    ]),
  },
];

async function prepare(server: OwnPostgres, setup: Setup, group = 'NULL', key = 'NULL'): Promise<void> {
  await server.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const store = await PostgresStore.open({ connectionString: server.url, schema: SCHEMA, poolSize: 1 });
  try {
    await store.migrate();
    // Ids in creation order, as UUIDv7 ids are, and the same on every run: random ones land all over
    // the primary key and made the counts vary by a tenth between runs.
    await server.query(
      `INSERT INTO ${SCHEMA}.jobs (id, task, queue, payload, state, max_attempts, run_at, group_key,
                                   concurrency_key, concurrency_limit)
       SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'noop', 'default', '{"n":1}', 'queued', 3, now() + g * interval '1 microsecond', ${group},
              ${key}, CASE WHEN ${key} IS NOT NULL THEN ${JOBS} END
       FROM generate_series(1, ${JOBS}) g`,
    );
    await server.query(
      `INSERT INTO ${SCHEMA}.job_queue (id, queue, priority, run_at, state, group_key, concurrency_key, concurrency_limit)
       SELECT id, queue, priority, run_at, state, group_key, concurrency_key, concurrency_limit FROM ${SCHEMA}.jobs`,
    );
    await server.query(
      `INSERT INTO ${SCHEMA}.concurrency_keys (key, in_use, job_limit)
       SELECT DISTINCT concurrency_key, 0, ${JOBS} FROM ${SCHEMA}.jobs WHERE concurrency_key IS NOT NULL`,
    );
    await server.query(`CREATE SEQUENCE ${SCHEMA}.new_ids`);
    if (setup === 'running') {
      await store.jobClaim({ workerId: 'w', limit: JOBS, leaseMs: 3_600_000 });
      await server.query(
        `CREATE TABLE ${SCHEMA}.running_batches AS
         SELECT (row_number() OVER (ORDER BY id) - 1) / ${BATCH} + 1 AS batch, id, lease_token
         FROM ${SCHEMA}.jobs WHERE state = 'running'`,
      );
      await server.query(`CREATE INDEX ON ${SCHEMA}.running_batches (batch)`);
      await server.query(`CREATE SEQUENCE ${SCHEMA}.running_batch`);
    }
    await server.query(`VACUUM ANALYZE`);
  } finally {
    await store.close();
  }
}

/** Instructions of one single-user session running `statement` prepared, `runs` times. */
async function count(server: OwnPostgres, testCase: Case, runs: number, label: string): Promise<number> {
  // Single-user input: -j ends each command at a semicolon followed by an empty line.
  // The planner settings of the store's own connections (src/store/postgres/pool.ts): with fresh
  // statistics and sequential scans allowed, the claim read and sorted every queued row instead.
  const commands = [`${PLANNER_SETTINGS};`, `PREPARE s AS ${testCase.sql};`];
  for (let run = 0; run < runs; run += 1) {
    if (testCase.before !== undefined) commands.push(testCase.before);
    commands.push('EXECUTE s;');
  }
  const input = join(server.dataDir, '..', `${label}.sql`);
  const out = join(server.dataDir, '..', `${label}.callgrind`);
  writeFileSync(input, commands.join('\n\n') + '\n\n');
  const [file, argv] = spawnArgs(
    'postgres',
    ['--single', '-j', '-D', server.dataDir, 'postgres'],
    ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`],
  );
  const shell = [file, ...argv].map((arg) => `'${arg}'`).join(' ');
  const { stdout } = await run('sh', ['-c', `${shell} < '${input}' 2>&1`], { maxBuffer: 64 << 20 });
  const error = /\b(ERROR|FATAL):.*$/m.exec(stdout);
  if (error) throw new Error(`${label}: ${error[0].trim()}`);
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error(`${label}: no callgrind summary in ${out}`);
  return Number(summary[1]);
}

async function measure(server: OwnPostgres, testCase: Case, index: number): Promise<number> {
  const session = async (runs: number, label: string): Promise<number> => {
    await prepare(server, testCase.setup, testCase.group, testCase.key);
    await server.stop();
    try {
      return await count(server, testCase, runs, `case${index}-${label}`);
    } finally {
      await server.start();
    }
  };
  const warm = await session(WARM_RUNS, 'warm');
  const full = await session(WARM_RUNS + MEASURED_RUNS, 'full');
  return (full - warm) / MEASURED_RUNS / BATCH;
}

const server = await startOwnPostgres();
try {
  const rows: string[] = [];
  const only = args.only ?? process.env['NIGHTSHIFT_BENCH_SQL_ONLY'];
  for (const [index, testCase] of CASES.entries()) {
    if (only !== undefined && !testCase.name.includes(only)) continue;
    const perJob = await measure(server, testCase, index);
    rows.push(`${(perJob / 1000).toFixed(1).padStart(8)}k  ${testCase.name}`);
    console.error(`[bench:sql] ${testCase.name}: done`);
  }
  console.log(`instructions per job, ${BATCH} jobs per statement, PostgreSQL server side:`);
  for (const row of rows) console.log(row);
} finally {
  await server.remove();
}
