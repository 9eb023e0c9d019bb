/** The API token part of SqliteStore (see TokenStore in ../store.ts). */
import type { ApiRole, ApiToken, TokenStore } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/api-tokens.js';

interface TokenRow {
  id: string;
  name: string;
  role: ApiRole;
  hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: new Date(row.created_at),
    expiresAt: date(row.expires_at),
    lastUsedAt: date(row.last_used_at),
    revokedAt: date(row.revoked_at),
  };
}

/** Tokens on one SQLite connection. */
export class SqliteTokens implements TokenStore {
  constructor(private readonly conn: SqliteConnection) {}

  tokenCreate(params: Parameters<TokenStore['tokenCreate']>[0]): Promise<ApiToken> {
    return this.conn.write((now) => {
      const { expiresInMs, ...token } = params;
      const row = this.conn.stmt(sql.tokenCreate).get({
        ...token,
        now,
        expiresAt: expiresInMs === null ? null : now + expiresInMs,
      }) as TokenRow;
      return toToken(row);
    });
  }

  async tokenList(): Promise<ApiToken[]> {
    const rows = await this.conn.read(() => this.conn.stmt(sql.tokenList).all() as TokenRow[]);
    return rows.map(toToken);
  }

  tokenRevoke(params: { id: string }): Promise<boolean> {
    return this.conn.write(
      (now) => this.conn.stmt(sql.tokenRevoke).run({ id: params.id, now }).changes === 1,
    );
  }

  async tokenFind(params: { hash: string }): Promise<(ApiToken & { hash: string }) | undefined> {
    const row = await this.conn.read(
      () =>
        this.conn.stmt(sql.tokenFind).get({ hash: params.hash, now: this.conn.clock() }) as
          TokenRow | undefined,
    );
    return row === undefined ? undefined : { ...toToken(row), hash: row.hash };
  }

  async tokenTouch(params: { id: string }): Promise<void> {
    await this.conn.write((now) => this.conn.stmt(sql.tokenTouch).run({ id: params.id, now }));
  }

  async tokenAnyActive(): Promise<boolean> {
    const row = await this.conn.read(
      () => this.conn.stmt(sql.tokenAnyActive).get({ now: this.conn.clock() }) as { present: number },
    );
    return row.present === 1;
  }
}
