-- The store's clock: every statement of the store that reads the time calls nightshift_now() of its
-- own schema instead of now(), and so do the columns that default to the time. It is now(): the
-- transaction's start time, fixed for the whole transaction, as every statement used before. Tests
-- replace the function in their schema (test/support/postgres-test-clock.ts) to move a store's clock,
-- as SQLite stores take an injected clock.
--
-- Free in production: a LANGUAGE sql function whose body is one SELECT of an expression, STABLE like
-- now(), without SET options or SECURITY DEFINER, is inlined by the planner. The statements' plans
-- hold now() itself (EXPLAIN shows `run_at <= now()`), index conditions included, so no plan changes
-- (test/postgres/hot-plans.test.ts, test/postgres/store-clock.test.ts). pg_catalog is named because an
-- inlined body is parsed with the caller's search_path. A prepared statement's kept plan depends on
-- the function, so replacing it replans them from the next transaction on.
--
-- The real clock stays where real time is meant: the age of other sessions' transactions
-- (sql/database-health.ts, clock_timestamp() against pg_stat_activity) and the migration ledger's
-- applied_at.
CREATE FUNCTION nightshift_now() RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$SELECT pg_catalog.now()$$;

ALTER TABLE jobs
  ALTER COLUMN created_at SET DEFAULT nightshift_now(),
  ALTER COLUMN updated_at SET DEFAULT nightshift_now();
ALTER TABLE job_steps ALTER COLUMN created_at SET DEFAULT nightshift_now();
ALTER TABLE schedules
  ALTER COLUMN created_at SET DEFAULT nightshift_now(),
  ALTER COLUMN updated_at SET DEFAULT nightshift_now();
ALTER TABLE api_tokens ALTER COLUMN created_at SET DEFAULT nightshift_now();
ALTER TABLE events ALTER COLUMN at SET DEFAULT nightshift_now();
ALTER TABLE workers
  ALTER COLUMN started_at SET DEFAULT nightshift_now(),
  ALTER COLUMN heartbeat_at SET DEFAULT nightshift_now();
ALTER TABLE paused_queues ALTER COLUMN paused_at SET DEFAULT nightshift_now();
ALTER TABLE concurrency_keys ALTER COLUMN released_at SET DEFAULT nightshift_now();
