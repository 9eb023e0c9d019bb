/**
 * PostgreSQL behind PgBouncer 1.18 in transaction pooling mode (issue 19): the URL parameters that say
 * so, what PgBouncer refuses without them, the statement timeout set per transaction, a worker in
 * poll-only mode (no listen URL) that still runs jobs and sees another process's cancel, and the
 * planner settings the store cannot set there (planner-check.ts).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';
import { connectionSettings } from '../../src/store/postgres/pool.js';
import { parseConnectionUrl } from '../../src/store/postgres/connection-url.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { captureLogger } from '../support/capture-logger.js';
import { expectCode } from '../support/expect-code.js';
import { newJob } from '../support/jobs.js';
import { startPgbouncer, pgbouncerUnavailable, type Pgbouncer } from '../support/pgbouncer.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';

describe('pooler URL parameters', () => {
  it('takes pooler and listen_url out of the URL and passes every other parameter on', () => {
    const listen = 'postgres://u@db:5432/app?sslmode=disable';
    const parsed = parseConnectionUrl(
      `postgres://u@pool:6432/app?sslmode=disable&pooler=transaction&listen_url=${encodeURIComponent(listen)}`,
    );
    expect(parsed).toEqual({
      connectionString: 'postgres://u@pool:6432/app?sslmode=disable',
      pooler: 'transaction',
      listenUrl: listen,
      poolSize: null,
    });
    expect(parseConnectionUrl('postgres://u@db/app?host=%2Ftmp')).toEqual({
      connectionString: 'postgres://u@db/app?host=%2Ftmp',
      pooler: null,
      listenUrl: null,
      poolSize: null,
    });
  });

  it('takes pool_size out of the URL as the pool size, which an explicit poolSize overrides', () => {
    expect(parseConnectionUrl('postgres://u@db/app?pool_size=3&sslmode=disable')).toEqual({
      connectionString: 'postgres://u@db/app?sslmode=disable',
      pooler: null,
      listenUrl: null,
      poolSize: 3,
    });
    expect(connectionSettings({ connectionString: 'postgres://u@db/app?pool_size=3' }).poolSize).toBe(3);
    expect(
      connectionSettings({ connectionString: 'postgres://u@db/app?pool_size=3', poolSize: 7 }).poolSize,
    ).toBe(7);
    expect(connectionSettings({ connectionString: 'postgres://u@db/app' }).poolSize).toBe(10);
  });

  it('refuses an unknown mode, a repeated parameter, a listen URL that is not direct, and contradictions', async () => {
    const refused = [
      'postgres://u@pool/app?pooler=session',
      'postgres://u@pool/app?pooler=transaction&pooler=transaction',
      'postgres://u@pool/app?pooler=transaction&listen_url=mysql%3A%2F%2Fdb',
      `postgres://u@pool/app?listen_url=${encodeURIComponent('postgres://u@pool/app?pooler=transaction')}`,
      'postgres://u@db/app?pool_size=0',
      'postgres://u@db/app?pool_size=1001',
      'postgres://u@db/app?pool_size=2.5',
      'postgres://u@db/app?pool_size=',
    ];
    for (const url of refused) {
      await expectCode(PostgresStore.open({ connectionString: url }), 'invalid_argument');
    }
    await expectCode(
      PostgresStore.open({
        connectionString: 'postgres://u@pool/app?listen_url=postgres%3A%2F%2Fa',
        listenUrl: 'postgres://b',
      }),
      'invalid_argument',
      /contradicts/,
    );
  });

  it("refuses a parameter neither nightshift nor the driver knows, naming nightshift's", async () => {
    const refused: Array<[string, string]> = [
      ['postgres://u@db/app?poolr=transaction', 'poolr'],
      // Names are case-sensitive to node-postgres and libpq alike: this one would be dropped.
      ['postgres://u@db/app?sslmode=disable&SSLMODE=require', 'SSLMODE'],
      // Another library's parameter, dropped by the driver: the schema would not be the one meant.
      ['postgres://u@db/app?schema=tenant', 'schema'],
      [
        `postgres://u@pool/app?pooler=transaction&listen_url=${encodeURIComponent('postgres://u@db/app?pool=1')}`,
        'pool',
      ],
    ];
    for (const [url, name] of refused) {
      await expectCode(
        PostgresStore.open({ connectionString: url }),
        'invalid_argument',
        new RegExp(
          `^unknown PostgreSQL URL parameter "${name}": nightshift's are pooler, listen_url, pool_size; ` +
            `node-postgres's and libpq's own \\(sslmode, application_name, options, \\.\\.\\.\\) are passed on$`,
        ),
      );
    }
  });

  it("passes node-postgres's and libpq's parameters on to a store that works with them", async () => {
    const schema = uniqueSchema('url_params');
    const url = new URL(TEST_PG_URL);
    url.search = new URLSearchParams({
      sslmode: 'disable',
      application_name: schema,
      options: '-c lock_timeout=4321',
      // libpq's, which node-postgres does not implement: accepted as before, and without effect.
      connect_timeout: '5',
      target_session_attrs: 'any',
    }).toString();
    const store = await PostgresStore.open({ connectionString: url.toString(), schema });
    try {
      await store.migrate();
      const settings = await store.transaction(async (tx) => {
        const { rows } = await tx.query<{ app: string; lock: string }>(
          "SELECT current_setting('application_name') AS app, current_setting('lock_timeout') AS lock",
        );
        return rows[0];
      });
      expect(settings).toEqual({ app: schema, lock: '4321ms' });
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('gives a peer process the same settings whether they came as options or URL parameters', async () => {
    const store = await PostgresStore.open({
      connectionString: 'postgres://u@pool:6432/app',
      pooler: 'transaction',
      listenUrl: 'postgres://u@db:5432/app',
    });
    try {
      const { url } = store.peerAddress();
      expect(parseConnectionUrl(url)).toEqual({
        connectionString: 'postgres://u@pool:6432/app',
        pooler: 'transaction',
        listenUrl: 'postgres://u@db:5432/app',
        poolSize: null,
      });
      expect(store.crossProcessEvents).toBe(true);
    } finally {
      await store.close();
    }
  });
});

const unavailable = pgbouncerUnavailable();

describe.skipIf(unavailable !== null)('through PgBouncer in transaction mode', () => {
  const schema = uniqueSchema('pooler');
  const database = new URL(TEST_PG_URL).pathname.slice(1);
  let bouncer: Pgbouncer;

  beforeAll(async () => {
    const target = new URL(TEST_PG_URL);
    bouncer = await startPgbouncer({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterAll(async () => {
    await bouncer.stop();
    await dropSchema(schema);
  });

  it('is refused without pooler=transaction: PgBouncer rejects the statement_timeout startup parameter', async () => {
    const plain = bouncer.url(database).replace('?pooler=transaction', '');
    const store = await PostgresStore.open({ connectionString: plain, schema });
    try {
      // Refused as a configuration error, not an outage: a worker would wait for it to pass.
      await expectCode(
        store.now(),
        'config_error',
        /unsupported startup parameter: statement_timeout; .*add pooler=transaction to the URL/,
      );
    } finally {
      await store.close();
    }
  });

  it('bounds statements of its transactions with SET LOCAL, leaving no setting on the server connection', async () => {
    const store = await PostgresStore.open({
      connectionString: bouncer.url(database),
      schema,
      statementTimeoutMs: 300,
      poolSize: 1,
    });
    // One server connection behind PgBouncer, so the next client is handed the very same one.
    const client = new pg.Client({
      connectionString: bouncer.url(database).replace('?pooler=transaction', ''),
    });
    try {
      const slow = store.transaction((tx) => tx.query('SELECT pg_sleep(2)'));
      await expect(slow).rejects.toMatchObject({ code: '57014' });
      // A transaction left silent past the bound is ended by the server, behind the pooler too.
      const silent = store.transaction(async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return tx.query('SELECT 1');
      });
      await expect(silent).rejects.toThrow();
      await client.connect();
      const { rows } = await client.query<{ statement_timeout: string; idle: string }>(
        "SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('idle_in_transaction_session_timeout') AS idle",
      );
      expect(rows[0]?.statement_timeout).not.toBe('300ms');
      expect(rows[0]?.idle).not.toBe('300ms');
    } finally {
      await client.end().catch(() => undefined);
      await store.close();
    }
  });

  it('polls without a listen URL: a worker runs jobs and sees a cancel from another process', async () => {
    const url = bouncer.url(database);
    const workerStore = await PostgresStore.open({ connectionString: url, schema, poolSize: 4 });
    const operator = await PostgresStore.open({ connectionString: url, schema, poolSize: 2 });
    expect(workerStore.crossProcessEvents).toBe(false);
    let startedLong!: () => void;
    const longStarted = new Promise<void>((resolve) => (startedLong = resolve));
    const ns = await Nightshift.connect({
      db: workerStore,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        add: (p: { a: number; b: number }) => p.a + p.b,
        long: async (_p: unknown, ctx) => {
          startedLong();
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          throw new Error('cancelled');
        },
      },
    });
    try {
      ns.startWorker({ pollIntervalMs: 50, concurrency: 4, rescueIntervalMs: 0, pruneIntervalMs: 0 });
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => ns.enqueue('add', { a: i, b: 1 })));
      for (const [i, { id }] of ids.entries()) {
        const done = await ns.waitFor(id, { timeoutMs: 10_000 });
        expect(done).toMatchObject({ state: 'completed', result: i + 1 });
      }
      const { id } = await ns.enqueue('long', {});
      await longStarted;
      expect(workerStore.crossProcessEventsLive).toBe(false);
      expect((await operator.jobCancel({ id })).outcome).toBe('cancel_requested');
      expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('cancelled');
    } finally {
      await ns.close({ force: true, graceMs: 0 });
      await workerStore.close();
      await operator.close();
    }
  });

  it('warns when the server plans with sequential scans and JIT on, naming the role and the fix', async () => {
    const { logger, lines } = captureLogger();
    const store = await PostgresStore.open({ connectionString: bouncer.url(database), schema, logger });
    try {
      await store.migrate();
      await store.schemaCheck();
      const warnings = lines.filter((line) => line.includes('cannot set its planner settings'));
      // Once per store, whichever of migrate and schemaCheck ran first.
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({
        level: 40,
        role: 'postgres',
        enable_seqscan: 'on',
      });
      expect(warnings[0]).toContain('ALTER ROLE \\"postgres\\" SET enable_seqscan = off');
    } finally {
      await store.close();
    }
  });

  it("claims by index with stale statistics once the settings are the database's own, and does not warn", async () => {
    const planned = `nightshift_pooler_plans_${process.pid}`;
    await withAdmin(async (admin) => {
      await admin.query(`DROP DATABASE IF EXISTS ${planned} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${planned}`);
      await admin.query(`ALTER DATABASE ${planned} SET enable_seqscan = off`);
      await admin.query(`ALTER DATABASE ${planned} SET jit = off`);
    });
    const { logger, lines } = captureLogger();
    const store = await PostgresStore.open({ connectionString: bouncer.url(planned), schema, logger });
    const client = new pg.Client({
      connectionString: bouncer.url(planned).replace('?pooler=transaction', ''),
    });
    try {
      await store.migrate();
      expect(lines.filter((line) => line.includes('planner settings'))).toEqual([]);
      // Statistics taken on 20 jobs, then 20,000 more: planned without the settings, the claim's ready
      // scan read and sorted all of job_queue.
      await store.jobInsertMany({ jobs: Array.from({ length: 20 }, () => newJob({ queue: 'big' })) });
      await client.connect();
      await client.query(`ANALYZE "${schema}".jobs, "${schema}".job_queue`);
      for (let i = 0; i < 20; i += 1) {
        await store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big' })) });
      }
      // An unnamed statement, as the store sends it through a pooler: planned for these parameters.
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${renderStatements(`"${schema}"`, false).jobClaimLean.text}`,
        ['w', 100, 30_000],
      );
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
      expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
      expect(plan).not.toMatch(/Sort Key: job_queue\S*\.priority/);
    } finally {
      await client.end().catch(() => undefined);
      await store.close();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${planned} WITH (FORCE)`));
    }
  });
});
