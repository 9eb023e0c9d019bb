-- concurrency_keys.released_at (ms since the epoch, the database's clock): when the key last gave a
-- slot back (or its operator limit changed), so the pruner can delete the rows of keys idle for long
-- (in_use 0, no operator limit): one row per key ever claimed no longer accumulates forever. A deleted
-- key's next claim inserts its row again. Rows from before this migration count as long idle (0).
-- The trigger's clock is SQLite's own: a trigger cannot read the store's.
ALTER TABLE concurrency_keys ADD COLUMN released_at INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER concurrency_slot_release;
CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.concurrency_key IS NOT NULL
BEGIN
  UPDATE concurrency_keys
  SET in_use = in_use - 1, released_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE key = old.concurrency_key;
END;
