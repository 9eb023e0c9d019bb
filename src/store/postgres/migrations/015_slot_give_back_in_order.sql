-- Slots are given back by the statements that end attempts, no longer by a row trigger on jobs.
--
-- The trigger of migration 013 updated a queue_limits row and a concurrency_keys row per ended job,
-- in the order the statement ended its jobs: two finish batches ending jobs of the same two keys in
-- opposite orders locked the rows in opposite orders and deadlocked (test/postgres/limits-deadlock
-- .test.ts), and each ended job paid a PL/pgSQL call and one UPDATE. The three statements that move a
-- job out of 'running' (completion, every other finish, the rescue of lapsed leases) now lock the
-- rows of the queues, then of the keys, of all the jobs they ended, each set sorted, as the claim
-- does, and give back one count per row (sql/concurrency-limits.ts `giveBack`). Fenced as before: only
-- rows the statement moved out of 'running' are counted.
--
-- concurrency_keys.released_at: when the key last gave a slot back (or its operator limit changed), so
-- the pruner can delete the rows of keys idle for long (in_use 0, no operator limit): one row per key
-- ever claimed no longer accumulates forever. A deleted key's next claim inserts its row again.
DROP TRIGGER concurrency_slot_release ON jobs;
DROP FUNCTION concurrency_slot_release();
ALTER TABLE concurrency_keys ADD COLUMN released_at timestamptz NOT NULL DEFAULT now();
