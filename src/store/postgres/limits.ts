/**
 * The limits part of PostgresStore (LimitsStore in ../store.ts): slots, limits and rates of keys and
 * queues, and the weights and counts of groups.
 */
import type pg from 'pg';
import type {
  ConcurrencyKeyInfo,
  JobGroupInfo,
  LimitsStore,
  PruneParams,
  QueueLimitInfo,
  StartRate,
} from '../store.js';
import {
  toConcurrencyKeyInfo,
  toQueueLimitInfo,
  type KeyListRow,
  type QueueLimitListRow,
} from '../queue-limit-row.js';
import { toStoreError } from './pool.js';
import {
  concurrencyKeyList,
  concurrencyKeyPrune,
  concurrencyKeySetLimit,
  queueLimitList,
  queueSetLimit,
} from './sql/concurrency-limits.js';
import { groupList, groupSetWeight, groupSetWeightDefault } from './sql/job-groups.js';
import { concurrencyKeySetRate, queueSetRate } from './sql/rate-limits.js';

/** Concurrency keys, queue limits and groups in one schema. */
export class PostgresLimits implements LimitsStore {
  private readonly sql: {
    groupList: string;
    groupSetWeight: string;
    groupSetWeightDefault: string;
    concurrencyKeyList: string;
    concurrencyKeySetLimit: string;
    concurrencyKeySetRate: string;
    concurrencyKeyPrune: string;
    queueLimitList: string;
    queueSetLimit: string;
    queueSetRate: string;
  };

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
  ) {
    this.sql = {
      groupList: groupList(quotedSchema),
      groupSetWeight: groupSetWeight(quotedSchema),
      groupSetWeightDefault: groupSetWeightDefault(quotedSchema),
      concurrencyKeyList: concurrencyKeyList(quotedSchema),
      concurrencyKeySetLimit: concurrencyKeySetLimit(quotedSchema),
      concurrencyKeySetRate: concurrencyKeySetRate(quotedSchema),
      concurrencyKeyPrune: concurrencyKeyPrune(quotedSchema),
      queueLimitList: queueLimitList(quotedSchema),
      queueSetLimit: queueSetLimit(quotedSchema),
      queueSetRate: queueSetRate(quotedSchema),
    };
  }

  async groupList(params: { after?: string; limit: number; running?: boolean }): Promise<JobGroupInfo[]> {
    return this.query<JobGroupInfo>(this.sql.groupList, [
      params.after ?? '',
      params.limit,
      params.running === true,
    ]);
  }

  async groupSetWeight(params: { group: string; weight: number | null }): Promise<void> {
    if (params.weight === null) await this.query(this.sql.groupSetWeightDefault, [params.group]);
    else await this.query(this.sql.groupSetWeight, [params.group, params.weight]);
  }

  async concurrencyKeyList(params: {
    after?: string;
    limit: number;
    running?: boolean;
  }): Promise<ConcurrencyKeyInfo[]> {
    const rows = await this.query<KeyListRow>(this.sql.concurrencyKeyList, [
      params.after ?? '',
      params.limit,
      params.running === true,
    ]);
    return rows.map(toConcurrencyKeyInfo);
  }

  async concurrencyKeySetLimit(params: { key: string; limit: number | null }): Promise<void> {
    await this.query(this.sql.concurrencyKeySetLimit, [params.key, params.limit]);
  }

  async concurrencyKeyPrune(params: PruneParams): Promise<{ deleted: number }> {
    try {
      const result = await this.pool.query({
        text: this.sql.concurrencyKeyPrune,
        values: [params.olderThanMs, params.limit],
      });
      return { deleted: result.rowCount ?? 0 };
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async queueLimitList(): Promise<QueueLimitInfo[]> {
    return (await this.query<QueueLimitListRow>(this.sql.queueLimitList, [])).map(toQueueLimitInfo);
  }

  async queueSetLimit(params: { queue: string; limit: number | null }): Promise<void> {
    await this.query(this.sql.queueSetLimit, [params.queue, params.limit]);
  }

  async concurrencyKeySetRate(params: { key: string; rate: StartRate | null }): Promise<void> {
    const { rate } = params;
    await this.query(this.sql.concurrencyKeySetRate, [
      params.key,
      rate?.limit ?? null,
      rate?.periodMs ?? null,
    ]);
  }

  async queueSetRate(params: { queue: string; rate: StartRate | null }): Promise<void> {
    const { rate } = params;
    await this.query(this.sql.queueSetRate, [params.queue, rate?.limit ?? null, rate?.periodMs ?? null]);
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ text, values })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
