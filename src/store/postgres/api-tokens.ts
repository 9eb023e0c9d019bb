/** The API token part of PostgresStore (see TokenStore in ../store.ts). */
import type pg from 'pg';
import type { ApiRole, ApiToken, TokenStore } from '../store.js';
import { toStoreError } from './pool.js';
import { isUuid } from './job-row.js';
import * as sql from './sql/api-tokens.js';

interface TokenRow {
  id: string;
  name: string;
  role: ApiRole;
  hash: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Tokens in one schema. */
export class PostgresTokens implements TokenStore {
  private readonly sql: { [K in keyof typeof sql]: string };

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
  ) {
    this.sql = {
      tokenCreate: sql.tokenCreate(quotedSchema),
      tokenList: sql.tokenList(quotedSchema),
      tokenRevoke: sql.tokenRevoke(quotedSchema),
      tokenFind: sql.tokenFind(quotedSchema),
      tokenTouch: sql.tokenTouch(quotedSchema),
      tokenAnyActive: sql.tokenAnyActive(quotedSchema),
    };
  }

  async tokenCreate(params: Parameters<TokenStore['tokenCreate']>[0]): Promise<ApiToken> {
    const [row] = await this.query<TokenRow>(this.sql.tokenCreate, [
      params.id,
      params.name,
      params.role,
      params.hash,
      params.expiresInMs,
    ]);
    if (row === undefined) throw new Error('token insert returned no row');
    return toToken(row);
  }

  async tokenList(): Promise<ApiToken[]> {
    return (await this.query<TokenRow>(this.sql.tokenList, [])).map(toToken);
  }

  async tokenRevoke(params: { id: string }): Promise<boolean> {
    if (!isUuid(params.id)) return false;
    return (await this.result(this.sql.tokenRevoke, [params.id])).rowCount === 1;
  }

  async tokenFind(params: { hash: string }): Promise<(ApiToken & { hash: string }) | undefined> {
    const [row] = await this.query<TokenRow>(this.sql.tokenFind, [params.hash]);
    return row === undefined ? undefined : { ...toToken(row), hash: row.hash };
  }

  async tokenTouch(params: { id: string }): Promise<void> {
    if (isUuid(params.id)) await this.result(this.sql.tokenTouch, [params.id]);
  }

  async tokenAnyActive(): Promise<boolean> {
    const [row] = await this.query<{ present: boolean }>(this.sql.tokenAnyActive, []);
    return row?.present === true;
  }

  private async result<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>({ text, values });
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    return (await this.result<R>(text, values)).rows;
  }
}
