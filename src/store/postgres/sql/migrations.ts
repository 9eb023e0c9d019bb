/**
 * Statements of the migration runner. Each is a function of the quoted schema name, rendered once per
 * store, because a caller's transaction handle (transactional enqueue) has its own search_path.
 */

/** Serialises migrators of one schema, across processes, until their transaction ends. */
export const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`;

/** Creates the schema; run only under migrateLock, since concurrent CREATE SCHEMA IF NOT EXISTS can race. */
export const migrateSchemaCreate = (s: string): string => `CREATE SCHEMA IF NOT EXISTS ${s}`;

/** Points unqualified names in migration files at the store's schema for this transaction only. */
export const migrateSearchPathSet = (s: string): string => `SET LOCAL search_path TO ${s}`;

/** The ledger of applied migrations. */
export const migrateTableCreate = (s: string): string => `
  CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/** True when the ledger exists; $1 is the qualified, quoted table name. */
export const schemaVersionTableExists = `SELECT to_regclass($1::text) IS NOT NULL AS exists`;

/** Highest applied version, 0 on an empty ledger. */
export const schemaVersion = (s: string): string =>
  `SELECT coalesce(max(version), 0)::int AS version FROM ${s}.schema_migrations`;

/** Records one applied migration. */
export const migrateRecord = (s: string): string =>
  `INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`;
