/** The limits part of PostgresStore (LimitsStore in ../store.ts): slots and limits of keys and queues. */
import type pg from 'pg';
import type { ConcurrencyKeyInfo, JobGroupInfo, LimitsStore, QueueLimitInfo } from '../store.js';
import { groupsNotBuilt } from './job-insert.js';
import { toStoreError } from './pool.js';
import { keyList, keySetLimit, queueLimitList, queueSetLimit } from './sql/concurrency-limits.js';

interface KeyRow {
  key: string;
  in_use: number;
  limit_now: number;
  max: number | null;
}

/** Concurrency keys in one schema. */
export class PostgresLimits implements LimitsStore {
  private readonly sql: {
    keyList: string;
    keySetLimit: string;
    queueLimitList: string;
    queueSetLimit: string;
  };

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
  ) {
    this.sql = {
      keyList: keyList(quotedSchema),
      keySetLimit: keySetLimit(quotedSchema),
      queueLimitList: queueLimitList(quotedSchema),
      queueSetLimit: queueSetLimit(quotedSchema),
    };
  }

  /** No group exists: PostgreSQL refuses grouped jobs until fair claiming is built on it. */
  groupList(): Promise<JobGroupInfo[]> {
    return Promise.resolve([]);
  }

  groupSetWeight(): Promise<void> {
    return Promise.reject(groupsNotBuilt());
  }

  async concurrencyKeyList(params: {
    after?: string;
    limit: number;
    running?: boolean;
  }): Promise<ConcurrencyKeyInfo[]> {
    const rows = await this.query<KeyRow>(this.sql.keyList, [
      params.after ?? '',
      params.limit,
      params.running === true,
    ]);
    return rows.map((row) => ({
      key: row.key,
      running: row.in_use,
      limit: row.limit_now,
      operatorLimit: row.max,
    }));
  }

  async concurrencyKeySetLimit(params: { key: string; limit: number | null }): Promise<void> {
    await this.query(this.sql.keySetLimit, [params.key, params.limit]);
  }

  async queueLimitList(): Promise<QueueLimitInfo[]> {
    const rows = await this.query<{ queue: string; max: number | null; in_use: number }>(
      this.sql.queueLimitList,
      [],
    );
    return rows.map((row) => ({ queue: row.queue, limit: row.max, running: row.in_use }));
  }

  async queueSetLimit(params: { queue: string; limit: number | null }): Promise<void> {
    await this.query(this.sql.queueSetLimit, [params.queue, params.limit]);
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ text, values })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
