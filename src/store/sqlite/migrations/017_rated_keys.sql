-- The keys with a rate of starts, found without reading every key's row: a short claim reports when
-- the soonest rate out of starts allows one again (sql/rate-limits.ts `jobClaimRateWait`), and the
-- keys table holds a row per key claimed (thousands, for per-tenant keys) while operators set rates on
-- few.
CREATE INDEX concurrency_keys_rated ON concurrency_keys (key) WHERE rate_limit IS NOT NULL;
