/**
 * What holds the database back, from PostgreSQL's statistics views: no table is scanned, so metrics
 * may read it every scrape. Row counts are the statistics collector's estimates, flushed by each
 * session at most once a second.
 */

/** Live and dead rows and the last vacuum of each table of the schema. $1 the schema name (unquoted). */
export const databaseHealthTables = `
  SELECT relname AS table, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
         greatest(last_vacuum, last_autovacuum) AS last_vacuum_at
  FROM pg_stat_user_tables
  WHERE schemaname = $1
  ORDER BY relname`;

/**
 * The oldest transaction open on this database in another session, as the database's clock sees it.
 * Its snapshot keeps vacuum from removing any row deleted after it began, in every table. The server's
 * real clock on purpose, not the store's nightshift_now(): xact_start is real server time, and a
 * transaction's age is a fact about the server that a test moving the store's clock must not change.
 */
export const databaseHealthOldestTransaction = `
  SELECT pid, state, (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS age_ms
  FROM pg_stat_activity
  WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
  ORDER BY xact_start
  LIMIT 1`;
