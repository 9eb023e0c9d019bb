-- Rate limits per queue and per concurrency key: at most rate_limit starts per rate_period_ms,
-- cluster-wide, on the database clock, as a generic cell rate (sql/rate-limits.ts). rate_tat is the
-- theoretical arrival time (epoch ms) of the queue's next start: each start moves it rate_period_ms
-- / rate_limit later (from now when it lies in the past), and a claim may start a job while
-- rate_tat <= now + rate_period_ms - that spacing. So a burst of rate_limit starts is allowed, then
-- starts are spaced evenly. The claim reads and advances rate_tat under the lock it already takes
-- on the queue's row (migration 013). A queue with a rate and no concurrency limit has max NULL;
-- its jobs take no slot (queue_slot stays false).
ALTER TABLE queue_limits ADD COLUMN rate_limit integer;
ALTER TABLE queue_limits ADD COLUMN rate_period_ms integer;
ALTER TABLE queue_limits ADD COLUMN rate_tat double precision NOT NULL DEFAULT 0;

-- The same rate per concurrency key, set by an operator (the key's row is created when missing). The
-- claim's key upsert re-checks it on the key row's newest version, like the key's running count.
ALTER TABLE concurrency_keys ADD COLUMN rate_limit integer;
ALTER TABLE concurrency_keys ADD COLUMN rate_period_ms integer;
ALTER TABLE concurrency_keys ADD COLUMN rate_tat double precision NOT NULL DEFAULT 0;
