-- The tasks a worker implements (docs/FLEET.md, "Task catalog"): the names it has a handler for,
-- sorted, no repeats, NULL for none. Written when the worker registers, never by its heartbeat, which
-- stays a heap-only update of two columns. A row written before this migration (a worker still
-- running an older nightshift) has NULL and reads as implementing none until that worker registers
-- again. Adding the column rewrites nothing (NULL, no default).
ALTER TABLE workers ADD COLUMN tasks text[];
