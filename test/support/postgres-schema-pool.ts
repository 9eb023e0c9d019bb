/**
 * Migrated schemas of the PostgreSQL harness (postgres-harness.ts), emptied after a test and handed to
 * a later test of the same file instead of a new one. Migrating a fresh schema (25 migrations in one
 * transaction) and dropping it cost each test about 0.1-0.3 s of server time: most of the PostgreSQL
 * conformance file's time and half of the engine tests' on PostgreSQL.
 *
 * A schema is handed out again only when it is once more what its migration built, checked, not
 * assumed. Right after the migration the pool notes the schema's catalog fingerprint: the row version
 * (xmin) of every catalog row describing it (the schema, its tables, columns, defaults, indexes,
 * constraints, triggers, rules, policies, sequences and types; any DDL writes a new one) with the
 * tables' planner statistics, and the full definition of each function. When the test is done, the
 * fingerprint and the migration ledger must be unchanged; then every other table is emptied and every
 * sequence set back to its start. A schema a test changed in any other way (a trigger, an index, a
 * recorded future version, an ANALYZE) is dropped, as is one whose test left many rows: with
 * autovacuum off their dead rows would stay behind and slow every later test's scans. A moved test
 * clock (postgres-test-clock.ts) is put back first, with the definition the migration gave
 * `nightshift_now()`.
 *
 * Schemas are reused within one test file's process only; the setup file drop-idle-schemas.ts drops the
 * idle ones when the file ends.
 */
import pg from 'pg';

/** What a schema's migration built, noted before its first test. */
interface Fresh {
  fingerprint: string;
  ledger: string;
  /** `CREATE OR REPLACE FUNCTION` of the store's clock as migrated. */
  clockFunction: string;
  tables: string[];
  sequences: Array<{ name: string; start: string }>;
}

/** Above this many rows left by a test, its schema is dropped rather than emptied for the next. */
const MOST_ROWS_EMPTIED = 5_000;
/** Idle schemas kept per prefix; a test rarely opens more stores of its own at once. */
const MOST_IDLE = 4;

const idle = new Map<string, string[]>();
const fresh = new Map<string, Fresh>();
// One connection for every check of the process, as the test clock keeps one: a connection per
// schema handed back would cost about what it saves. Idle, it closes and never holds the process open.
let admin: pg.Pool | undefined;

function adminPool(url: string): pg.Pool {
  admin ??= new pg.Pool({ connectionString: url, max: 1, idleTimeoutMillis: 1_000, allowExitOnIdle: true });
  return admin;
}

const quoted = (schema: string): string => `"${schema}"`;

/**
 * One hash of every catalog row describing the schema `$1` (quoted): DDL writes a new row version, so
 * an xmin that changed means the definition may have; functions are compared by their definition,
 * since putting the test clock back writes a new row with the migrated text. pg_class's page and row
 * counts and pg_statistic's rows are the planner statistics VACUUM and ANALYZE leave.
 */
const FINGERPRINT = `
WITH rels AS (SELECT c.oid FROM pg_class c WHERE c.relnamespace = $1::regnamespace)
SELECT md5(string_agg(x, ',' ORDER BY x)) AS fingerprint FROM (
  SELECT 'n:' || n.xmin::text FROM pg_namespace n WHERE n.oid = $1::regnamespace
  UNION ALL SELECT concat_ws(':', 'c', c.oid, c.xmin, c.relpages, c.reltuples, c.relallvisible)
    FROM pg_class c WHERE c.oid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'a', a.attrelid, a.attnum, a.xmin) FROM pg_attribute a
    WHERE a.attrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'i', i.indexrelid, i.xmin) FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'k', k.oid, k.xmin) FROM pg_constraint k WHERE k.connamespace = $1::regnamespace
  UNION ALL SELECT concat_ws(':', 'd', d.oid, d.xmin) FROM pg_attrdef d WHERE d.adrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 't', t.oid, t.xmin) FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'r', r.oid, r.xmin) FROM pg_rewrite r WHERE r.ev_class IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'o', p.oid, p.xmin) FROM pg_policy p WHERE p.polrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 's', s.seqrelid, s.xmin) FROM pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'z', s.starelid, s.staattnum, s.stainherit) FROM pg_statistic s
    WHERE s.starelid IN (SELECT oid FROM rels)
  UNION ALL SELECT concat_ws(':', 'y', y.oid, y.xmin) FROM pg_type y WHERE y.typnamespace = $1::regnamespace
  UNION ALL SELECT concat_ws(':', 'e', e.oid, e.xmin) FROM pg_enum e JOIN pg_type y ON y.oid = e.enumtypid
    WHERE y.typnamespace = $1::regnamespace
  UNION ALL SELECT concat_ws(':', 'p', p.oid,
      CASE WHEN p.prokind IN ('f', 'p') THEN md5(pg_get_functiondef(p.oid)) ELSE p.xmin::text END)
    FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
) AS catalog (x)`;

async function fingerprintOf(client: pg.ClientBase, schema: string): Promise<string> {
  const { rows } = await client.query<{ fingerprint: string }>(FINGERPRINT, [quoted(schema)]);
  return rows[0]?.fingerprint ?? '';
}

async function ledgerOf(client: pg.ClientBase, schema: string): Promise<string> {
  const { rows } = await client.query<{ version: number; name: string }>(
    `SELECT version, name FROM ${quoted(schema)}.schema_migrations ORDER BY version`,
  );
  return rows.map((row) => `${row.version} ${row.name}`).join('\n');
}

/** Notes what the migration of `schema`, just run on a new schema, built. */
export async function noteFresh(url: string, schema: string): Promise<void> {
  const client = await adminPool(url).connect();
  try {
    const tables = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'
       ORDER BY tablename`,
      [schema],
    );
    const sequences = await client.query<{ name: string; start: string }>(
      `SELECT sequencename AS name, start_value::text AS start FROM pg_sequences WHERE schemaname = $1`,
      [schema],
    );
    const clock = await client.query<{ def: string }>(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname = 'nightshift_now'`,
      [schema],
    );
    const clockFunction = clock.rows[0]?.def;
    if (clockFunction === undefined) throw new Error(`schema ${schema} has no nightshift_now()`);
    fresh.set(schema, {
      fingerprint: await fingerprintOf(client, schema),
      ledger: await ledgerOf(client, schema),
      clockFunction,
      tables: tables.rows.map((row) => row.name),
      sequences: sequences.rows,
    });
  } finally {
    client.release();
  }
}

/** An emptied migrated schema of `prefix` left by an earlier test of this file, if any. */
export function takeIdleSchema(prefix: string): string | undefined {
  return idle.get(prefix)?.pop();
}

/**
 * Takes back a schema a test is done with (its stores closed): empties it for a later test when it is
 * still what its migration built, else drops it. `clockMoved`: the test moved its clock.
 */
export async function giveBackSchema(
  url: string,
  prefix: string,
  schema: string,
  clockMoved: boolean,
): Promise<void> {
  const kept = idle.get(prefix) ?? [];
  if (kept.length >= MOST_IDLE || !(await emptied(url, schema, clockMoved))) {
    fresh.delete(schema);
    await dropSchemaWith(adminPool(url), schema);
    return;
  }
  kept.push(schema);
  idle.set(prefix, kept);
}

/** Puts `schema` back to the state its migration left; false when it cannot be, or should not be. */
async function emptied(url: string, schema: string, clockMoved: boolean): Promise<boolean> {
  const built = fresh.get(schema);
  if (built === undefined) return false;
  const client = await adminPool(url).connect();
  try {
    if (clockMoved) await client.query(built.clockFunction);
    if ((await fingerprintOf(client, schema)) !== built.fingerprint) return false;
    if ((await ledgerOf(client, schema)) !== built.ledger) return false;
    const deletes = built.tables.map((table) => `DELETE FROM ${quoted(schema)}.${quoted(table)};`);
    const results = (await client.query(
      `BEGIN; ${deletes.join(' ')} COMMIT;`,
    )) as unknown as pg.QueryResult[];
    const rows = results.reduce(
      (sum, result) => sum + (result.command === 'DELETE' ? (result.rowCount ?? 0) : 0),
      0,
    );
    if (rows > MOST_ROWS_EMPTIED) return false;
    for (const sequence of built.sequences) {
      await client.query('SELECT setval($1, $2, false)', [
        `${quoted(schema)}.${quoted(sequence.name)}`,
        sequence.start,
      ]);
    }
    return true;
  } finally {
    client.release();
  }
}

async function dropSchemaWith(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoted(schema)} CASCADE`);
}

/** Drops every idle schema (the end of a test file). */
export async function dropIdleSchemas(): Promise<void> {
  if (admin === undefined) return;
  const pool = admin;
  for (const schemas of idle.values()) {
    for (const schema of schemas.splice(0)) {
      fresh.delete(schema);
      await dropSchemaWith(pool, schema);
    }
  }
}

// The setup file reaches the pool through this name, so test files that never touch PostgreSQL do not
// load its driver.
(globalThis as { [key: symbol]: unknown })[Symbol.for('nightshift.test.dropIdleSchemas')] = dropIdleSchemas;
