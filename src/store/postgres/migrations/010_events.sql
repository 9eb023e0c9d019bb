-- The cluster event log: the job transitions (and schedule and queue events) other processes may want
-- to hear about, written by the same statement as the transition it records, so an event
-- exists iff its transition committed. Bounded: the pruner deletes rows older than its event retention.
--
-- Order without a serialising counter: `id` comes from a sequence (cached per connection, so within one
-- transaction ids grow) and `tx` is the writing transaction's id. Transaction ids are not commit order,
-- so a reader only reads rows with `tx` below its snapshot's xmin (every transaction below it has ended,
-- and every later writer gets a larger id); in (tx, id) order, a page read there is final: nothing can
-- commit later in front of it. See sql/events.ts and docs/EVENTS.md.
--
-- One row per statement and event type, listing its jobs in parallel arrays (element n of each array
-- is the n-th event of the row), not one row per job: a claim or a finish of 100 jobs writes one row
-- and one index entry instead of 100. At one row per job, three per job's life, a 20,000-job drain
-- took ~30% longer; per statement it costs a few percent (docs/EVENTS.md). Events without a job (queue,
-- schedule) are rows of one element. Readers unnest; a cursor names (tx, id, element).
CREATE TABLE events (
  tx           xid8        NOT NULL DEFAULT pg_current_xact_id(),
  id           bigint      NOT NULL GENERATED ALWAYS AS IDENTITY (CACHE 100),
  at           timestamptz NOT NULL DEFAULT now(),
  type         text        NOT NULL,
  job_ids      uuid[],
  tasks        text[],
  queues       text[],
  attempts     integer[],
  states       job_state[],
  errors       jsonb[],
  schedule_ids text[],
  data         jsonb
);
-- The one index: readers' order and cursor, and retention's oldest-first order.
CREATE INDEX events_order_idx ON events (tx, id);
-- No primary key (see migration 005 for why this matters to logical replication).
ALTER TABLE events REPLICA IDENTITY FULL;
