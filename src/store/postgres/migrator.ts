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
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { NightshiftError } from '../../errors.js';
import * as sql from './sql/migrations.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** The migration files shipped with this code, in version order. */
export function loadMigrations(): Migration[] {
  const migrations = readdirSync(MIGRATIONS_DIR)
    .map((file) => /^(\d+)_(.+)\.sql$/.exec(file))
    .filter((match) => match !== null)
    .map((match) => ({
      version: Number(match[1]),
      name: match[2] ?? '',
      sql: readFileSync(new URL(match[0], MIGRATIONS_DIR), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new NightshiftError(
        'config_error',
        `PostgreSQL migrations are not numbered 1..n: ${migration.name}`,
      );
    }
  });
  return migrations;
}

/** The error an older nightshift gives for a database migrated by a newer one. */
export function schemaTooNew(current: number, latest: number): NightshiftError {
  return new NightshiftError(
    'schema_too_new',
    `database schema is at version ${current} but this nightshift knows only up to ${latest}: upgrade nightshift`,
  );
}

/** Applies pending migrations on `client` (a dedicated connection) under the schema's advisory lock. */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  quotedSchema: string,
  migrations: Migration[],
): Promise<{ from: number; to: number }> {
  const latest = migrations.length;
  await client.query('BEGIN');
  try {
    await client.query(sql.MIGRATION_LOCK, [`nightshift.migrate:${schema}`]);
    await client.query(sql.createSchema(quotedSchema));
    await client.query(sql.createMigrationsTable(quotedSchema));
    const { rows } = await client.query<{ version: number }>(sql.currentVersion(quotedSchema));
    const from = rows[0]?.version ?? 0;
    if (from > latest) throw schemaTooNew(from, latest);
    await client.query(sql.setLocalSearchPath(quotedSchema));
    for (const migration of migrations.slice(from)) {
      // No parameters: node-postgres then uses the simple protocol, which runs a multi-statement file.
      await client.query(migration.sql);
      await client.query(sql.recordMigration(quotedSchema), [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, latest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
