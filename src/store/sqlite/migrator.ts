/**
 * Numbered, forward-only migrations for SQLite, read at run time from ./migrations/NNN_name.sql
 * beside this module (copied into dist by scripts/copy-sql.mjs).
 *
 * Each migration runs in its own BEGIN IMMEDIATE transaction that first re-reads the version: when
 * several processes start on an empty database at once, the first takes the write lock and applies
 * it, the others wait (busy retry), then see it applied and skip it. DDL is transactional in SQLite,
 * so a crash mid-migration leaves the previous version intact.
 */
import type Database from 'better-sqlite3';
import { NightshiftError } from '../../errors.js';
import { loadMigrations as loadMigrationFiles, type Migration } from '../migration-files.js';
import * as sql from './sql/schema.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** Every migration this code knows, in version order. */
export function loadMigrations(): Migration[] {
  return loadMigrationFiles(MIGRATIONS_DIR);
}

/** The newest version this code knows. */
export function latestVersion(): number {
  return loadMigrations().at(-1)?.version ?? 0;
}

/** The version the database is at; 0 for a database nightshift never touched. */
export function currentVersion(db: Database.Database): number {
  if (db.prepare(sql.schemaVersionTableExists).get() === undefined) return 0;
  return (db.prepare(sql.schemaVersion).get() as { version: number }).version;
}

/** Throws `schema_too_new` when a newer nightshift migrated this database. */
export function assertNotTooNew(current: number): void {
  const latest = latestVersion();
  if (current > latest) {
    throw new NightshiftError(
      'schema_too_new',
      `database schema is at version ${current}, but this nightshift knows only up to version ${latest}; upgrade nightshift`,
    );
  }
}

/**
 * Applies `migration` unless another process did first; returns whether this call applied it.
 * Run it as an IMMEDIATE transaction so the version check and the DDL hold one write lock.
 */
export function applyMigration(db: Database.Database, migration: Migration, now: number): boolean {
  db.exec(sql.migrateTableCreate);
  const current = currentVersion(db);
  assertNotTooNew(current);
  if (current >= migration.version) return false;
  db.exec(migration.sql);
  db.prepare(sql.migrateRecord).run({ version: migration.version, name: migration.name, now });
  return true;
}
