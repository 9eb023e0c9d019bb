-- API tokens. Only the SHA-256 of a token's secret is kept (hex); the secret is shown once at creation.
-- Times are INTEGER ms since the epoch on the store's clock.
CREATE TABLE api_tokens (
  id           TEXT    PRIMARY KEY,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash         TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

-- Every authenticated request looks its token up by hash.
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);
