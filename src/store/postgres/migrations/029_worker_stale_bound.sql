-- How long after its last heartbeat each worker counts as gone (its `workerStaleMs`), ms. Readers that
-- list live workers (`ns.workers()`, the throttled counts, the alerts, the task catalog) and the
-- rescuer's sweep of rows left by killed workers judge each worker by the longer of their own bound
-- and this one, so a worker whose handlers block its event loop for longer than 30 s, given a longer
-- workerStaleMs, is neither listed as gone nor swept while it lives. A row written before this
-- migration (a worker still running an older nightshift) has the default, the bound every reader used
-- then. Adding a column with a constant default rewrites nothing.
ALTER TABLE workers ADD COLUMN stale_ms integer NOT NULL DEFAULT 30000;
