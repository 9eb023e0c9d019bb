/** API tokens: created, listed, revoked, and looked up by the hash of their secret. */

/** Inserts a token; `@expiresAt` is absolute (ms) or NULL. */
export const tokenCreate = `
INSERT INTO api_tokens (id, name, role, hash, created_at, expires_at)
VALUES (@id, @name, @role, @hash, @now, @expiresAt)
RETURNING *`;

/** Every token, oldest first. */
export const tokenList = `SELECT * FROM api_tokens ORDER BY created_at, id`;

/** Revokes a token that is not revoked yet. */
export const tokenRevoke = `
UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL`;

/** A usable token by hash (unique index api_tokens_hash). */
export const tokenFind = `
SELECT * FROM api_tokens
WHERE hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)`;

/** Records a use. */
export const tokenTouch = `UPDATE api_tokens SET last_used_at = @now WHERE id = @id`;

/** Whether any usable token exists. */
export const tokenAnyActive = `
SELECT EXISTS (
  SELECT 1 FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
) AS present`;
