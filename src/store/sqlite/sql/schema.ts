/** Schema bookkeeping: which numbered migrations the database has applied. */

/** Creates the version table; run inside each migration's IMMEDIATE transaction. */
export const migrateTableCreate = `
CREATE TABLE IF NOT EXISTS nightshift_schema (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/** Whether the version table exists yet (a fresh database has none). */
export const schemaVersionTableExists = `
SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'nightshift_schema'`;

/** The newest applied version, 0 when none. */
export const schemaVersion = `SELECT coalesce(max(version), 0) AS version FROM nightshift_schema`;

/** Records one applied migration. */
export const migrateRecord = `
INSERT INTO nightshift_schema (version, name, applied_at) VALUES (@version, @name, @now)`;
