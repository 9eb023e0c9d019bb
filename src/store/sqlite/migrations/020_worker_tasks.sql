-- The tasks a worker implements (docs/FLEET.md, "Task catalog"): the names it has a handler for, as a
-- JSON array in one canonical form (sorted, no repeats), NULL for none. Written when the worker
-- registers, never by its heartbeat. A row written before this migration (a worker still running an
-- older nightshift) has NULL and reads as implementing none until that worker registers again.
ALTER TABLE workers ADD COLUMN tasks TEXT;
