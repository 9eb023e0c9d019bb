-- The arrays the hot path writes once per statement (an event-log row's job ids, tasks, queues, ...;
-- a claim's job_leases row; a finish's job_finish_log row) pass PostgreSQL's 2 kB toast threshold
-- from about 100 jobs per statement on, so every enqueue, claim and finish statement compressed them,
-- with pglz by default: 4-5k instructions per job in each (`npm run bench:sql`, 100 and 500 jobs per
-- statement). lz4 does the same work in a fraction of that: per job at 500 per statement, a lean claim
-- 82.2k -> 74.0k instructions, a completion 77.0k -> 68.7k, an enqueue 122.4k -> 117.3k.
--
-- lz4 is there only when the server was built with it (PostgreSQL 14 or newer; the PGDG and distribution
-- packages and the managed services are). Elsewhere the columns keep the server's default, and the
-- statements are run with EXECUTE so that PostgreSQL 13, which has no SET COMPRESSION, never parses them.
-- The setting applies to values written from now on; rows already there stay as they are.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
    EXECUTE 'ALTER TABLE events
               ALTER COLUMN job_ids SET COMPRESSION lz4,
               ALTER COLUMN tasks SET COMPRESSION lz4,
               ALTER COLUMN queues SET COMPRESSION lz4,
               ALTER COLUMN attempts SET COMPRESSION lz4,
               ALTER COLUMN states SET COMPRESSION lz4,
               ALTER COLUMN errors SET COMPRESSION lz4,
               ALTER COLUMN schedule_ids SET COMPRESSION lz4,
               ALTER COLUMN data SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE job_leases ALTER COLUMN job_ids SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE job_finish_log ALTER COLUMN job_ids SET COMPRESSION lz4';
  END IF;
END
$$;
