-- The keys with a rate of starts, found without reading every key's row: a short claim reports when
-- the soonest rate out of starts allows one again (sql/rate-limits.ts `rateWaitMs`), and the keys
-- table holds a row per key claimed recently (thousands, for per-tenant keys) while operators set rates
-- on few. The index holds only the key, which never changes, so the claims' and finishes' updates of
-- a key's counts and rate time stay HOT.
CREATE INDEX concurrency_keys_rated_idx ON concurrency_keys (key) WHERE rate_limit IS NOT NULL;
