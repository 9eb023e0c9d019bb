-- API tokens. Only the SHA-256 of a token's secret is kept (hex); the secret is shown once at creation.
CREATE TABLE api_tokens (
  id           uuid        PRIMARY KEY,
  name         text        NOT NULL,
  role         text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash         text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- Every authenticated request looks its token up by hash.
CREATE UNIQUE INDEX api_tokens_hash_idx ON api_tokens (hash);
