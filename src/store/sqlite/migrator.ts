/**
 * Numbered, forward-only migrations for SQLite, read at run time from ./migrations/NNN_name.sql
 * beside this module (copied into dist by scripts/copy-sql.mjs).
 *
 * Each migration runs in its own BEGIN IMMEDIATE transaction that first re-reads the version: when
 * several processes start on an empty database at once, the first takes the write lock and applies
 * it, the others wait (busy retry), then see it applied and skip it. DDL is transactional in SQLite,
 * so a crash mid-migration leaves the previous version intact.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { NightshiftError } from '../../errors.js';
import {
  SCHEMA_TABLE_CREATE,
  SCHEMA_TABLE_EXISTS,
  SCHEMA_VERSION_GET,
  SCHEMA_VERSION_INSERT,
} from './sql/schema.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_PATTERN = /^(\d+)_([\w-]+)\.sql$/;

let cached: Migration[] | undefined;

/** Every migration this code knows, in version order. */
export function knownMigrations(): Migration[] {
  if (cached) return cached;
  const migrations = readdirSync(MIGRATIONS_DIR)
    .map((file) => ({ file, match: FILE_PATTERN.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2] ?? file,
      sql: readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  cached = migrations;
  return migrations;
}

/** The newest version this code knows. */
export function latestVersion(): number {
  return knownMigrations().at(-1)?.version ?? 0;
}

/** The version the database is at; 0 for a database nightshift never touched. */
export function currentVersion(db: Database.Database): number {
  if (db.prepare(SCHEMA_TABLE_EXISTS).get() === undefined) return 0;
  return (db.prepare(SCHEMA_VERSION_GET).get() as { version: number }).version;
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
  db.exec(SCHEMA_TABLE_CREATE);
  const current = currentVersion(db);
  assertNotTooNew(current);
  if (current >= migration.version) return false;
  db.exec(migration.sql);
  db.prepare(SCHEMA_VERSION_INSERT).run({ version: migration.version, name: migration.name, now });
  return true;
}
