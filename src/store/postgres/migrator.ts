/**
 * Forward-only migrations from the numbered `.sql` files beside this module (`001_jobs.sql`, ...).
 *
 * Every migrator takes a transaction-scoped advisory lock keyed by the schema name BEFORE creating the
 * schema (two concurrent CREATE SCHEMA IF NOT EXISTS can still collide on the catalog's unique index),
 * then reads the applied version, applies what is missing and records it, all in that one transaction.
 * Ten processes starting at once on an empty database therefore apply each file exactly once: the
 * first applies, the rest wait on the lock and then find nothing to do. A crash mid-way rolls the whole
 * run back. Files run with `search_path` set to the schema, so they use unqualified names.
 */
import type pg from 'pg';
import { NightshiftError } from '../../errors.js';
import { loadMigrations as loadMigrationFiles, type Migration } from '../migration-files.js';
import * as sql from './sql/migrations.js';
import { inTransaction } from './transaction.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
// node-postgres treats 0 as "use the connection's default", so "no limit" is a day.
const MIGRATION_QUERY_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** The migration files shipped with this code, in version order. */
export function loadMigrations(): Migration[] {
  return loadMigrationFiles(MIGRATIONS_DIR);
}

/** The error an older nightshift gives for a database migrated by a newer one. */
export function schemaTooNew(current: number, latest: number): NightshiftError {
  return new NightshiftError(
    'schema_too_new',
    `database schema is at version ${current} but this nightshift knows only up to ${latest}: upgrade nightshift`,
  );
}

/** A query without the pool's client-side timeout (node-postgres reads `query_timeout` per query too). */
function unbounded(text: string, values?: unknown[]): pg.QueryConfig {
  const config: pg.QueryConfig & { query_timeout: number } = {
    text,
    query_timeout: MIGRATION_QUERY_TIMEOUT_MS,
  };
  if (values !== undefined) config.values = values;
  return config;
}

/** Applies pending migrations on `client` (a dedicated connection) under the schema's advisory lock. */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  quotedSchema: string,
  migrations: Migration[],
): Promise<{ from: number; to: number }> {
  const latest = migrations.length;
  // Every process migrates at start. A schema already current needs nothing created, so it is read
  // before CREATE SCHEMA IF NOT EXISTS, which needs CREATE on the database even when the schema exists:
  // a role with only the table privileges docs/SCALING.md lists then runs every command.
  const applied = await appliedVersion(client, quotedSchema);
  if (applied > latest) throw schemaTooNew(applied, latest);
  if (applied === latest) return { from: latest, to: latest };
  return inTransaction(client, 'BEGIN', async () => {
    // Migrations may rewrite big tables, and waiting for another migrator's lock is expected: neither
    // the store's statement timeout nor its client-side query timeout applies here.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query(unbounded(sql.migrateLock, [`nightshift.migrate:${schema}`]));
    await client.query(sql.migrateSchemaCreate(quotedSchema));
    await client.query(sql.migrateTableCreate(quotedSchema));
    const { rows } = await client.query<{ version: number }>(sql.schemaVersion(quotedSchema));
    const from = rows[0]?.version ?? 0;
    if (from > latest) throw schemaTooNew(from, latest);
    await client.query(sql.migrateSearchPathSet(quotedSchema));
    for (const migration of migrations.slice(from)) {
      // No parameters: node-postgres then uses the simple protocol, which runs a multi-statement file.
      await client.query(unbounded(migration.sql));
      await client.query(sql.migrateRecord(quotedSchema), [migration.version, migration.name]);
    }
    return { from, to: Math.max(from, latest) };
  });
}

/** The highest applied migration, 0 when the schema or its ledger does not exist yet. */
async function appliedVersion(client: pg.ClientBase, quotedSchema: string): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>(sql.schemaVersionTableExists, [
    `${quotedSchema}.schema_migrations`,
  ]);
  if (rows[0]?.exists !== true) return 0;
  const version = await client.query<{ version: number }>(sql.schemaVersion(quotedSchema));
  return version.rows[0]?.version ?? 0;
}
