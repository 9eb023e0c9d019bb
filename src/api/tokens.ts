/**
 * API token secrets: made from 32 random bytes, shown once, and kept only as their SHA-256 hash, so a
 * copy of the database gives nobody a usable token. Used by `nightshift tokens create` and by
 * `POST /api/v1/tokens`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { NightshiftError } from '../errors.js';
import { API_ROLES, type ApiRole, type ApiToken, type TokenStore } from '../store/store.js';
import { intIn, MAX_DELAY_MS, MAX_TOKEN_NAME_LENGTH, type Range } from '../validation/bounds.js';

/**
 * A token's lifetime in ms: up to 100 years, as every delay (validation/bounds.ts); unbounded, an
 * expiry could land past year 9999, beyond the dates the stores hold.
 */
export const TOKEN_EXPIRY_RANGE: Range = [1, MAX_DELAY_MS];

/** Every secret starts with this, so a leaked one is easy to recognise (and to scan for). */
export const TOKEN_PREFIX = 'ns_';

/** The hash a secret is stored and looked up by: SHA-256, lowercase hex. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** True for one of the role names. */
export function isApiRole(value: unknown): value is ApiRole {
  return (API_ROLES as readonly unknown[]).includes(value);
}

/** Creates a token and returns it with its secret, which exists nowhere else from then on. */
export async function issueToken(
  store: TokenStore,
  options: { name: string; role: string; expiresInMs?: number | null },
): Promise<{ token: ApiToken; secret: string }> {
  const { name, role } = options;
  const expiresInMs = options.expiresInMs ?? null;
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_TOKEN_NAME_LENGTH) {
    throw new NightshiftError('invalid_argument', `token name must be 1-${MAX_TOKEN_NAME_LENGTH} characters`);
  }
  if (!isApiRole(role)) {
    throw new NightshiftError(
      'invalid_argument',
      `role must be one of ${API_ROLES.join(', ')}, got "${role}"`,
    );
  }
  if (expiresInMs !== null) intIn('token expiry in ms', expiresInMs, TOKEN_EXPIRY_RANGE);
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const token = await store.tokenCreate({ id: uuidv7(), name, role, hash: hashToken(secret), expiresInMs });
  return { token, secret };
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `90s`, `15m`, `12h` or `30d` into milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0) : 0;
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new NightshiftError(
      'invalid_argument',
      `${flag} must be a duration such as 90s, 15m, 12h or 30d, got "${text}"`,
    );
  }
  return ms;
}
