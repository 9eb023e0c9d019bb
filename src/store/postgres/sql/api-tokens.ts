/** API tokens: created, listed, revoked, and looked up by the hash of their secret. */

/** $1 id, $2 name, $3 role, $4 hash, $5 expires in ms (nullable). */
export const tokenCreate = (s: string): string => `
  INSERT INTO ${s}.api_tokens (id, name, role, hash, expires_at)
  VALUES ($1, $2, $3, $4, ${s}.nightshift_now() + $5::float8 * interval '1 millisecond')
  RETURNING *`;

/** Every token, oldest first. */
export const tokenList = (s: string): string => `SELECT * FROM ${s}.api_tokens ORDER BY created_at, id`;

/** $1 id. */
export const tokenRevoke = (s: string): string => `
  UPDATE ${s}.api_tokens SET revoked_at = ${s}.nightshift_now() WHERE id = $1 AND revoked_at IS NULL`;

/** A usable token by hash (unique index api_tokens_hash_idx). $1 hash. */
export const tokenFind = (s: string): string => `
  SELECT * FROM ${s}.api_tokens
  WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${s}.nightshift_now())`;

/** $1 id. */
export const tokenTouch = (s: string): string =>
  `UPDATE ${s}.api_tokens SET last_used_at = ${s}.nightshift_now() WHERE id = $1`;

/** Whether any usable token exists. */
export const tokenAnyActive = (s: string): string => `
  SELECT EXISTS (
    SELECT 1 FROM ${s}.api_tokens
    WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${s}.nightshift_now())
  ) AS present`;
