/** Concurrency keys in SQLite: which ready jobs a claim may start and taking their slots; key reads. */
import type { ConcurrencyKeyInfo, LimitsStore } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { KEY_GET, KEY_LIST, KEY_SET_LIMIT, KEY_TAKE } from './sql/concurrency-keys.js';

/** What the key check needs of a ready job. */
export interface KeyedCandidate {
  concurrency_key: string | null;
  concurrency_limit: number | null;
}

/**
 * Keeps the candidates (in claim order) that fit their key's free slots, and takes those slots. Runs
 * inside the claim's write transaction, which no other writer can interleave with: exact.
 */
export function admitByKey<T extends KeyedCandidate>(conn: SqliteConnection, candidates: T[]): T[] {
  const taken = new Map<string, { free: number; n: number; jobLimit: number }>();
  const admitted = candidates.filter((job) => {
    const key = job.concurrency_key;
    if (key === null) return true;
    const jobLimit = job.concurrency_limit ?? 1;
    let slot = taken.get(key);
    if (slot === undefined) {
      const row = conn.stmt(KEY_GET).get(key) as { in_use: number; max: number | null } | undefined;
      slot = { free: (row?.max ?? jobLimit) - (row?.in_use ?? 0), n: 0, jobLimit };
      taken.set(key, slot);
    }
    if (slot.n >= slot.free) return false;
    slot.n += 1;
    return true;
  });
  for (const [key, slot] of taken) {
    if (slot.n > 0) conn.stmt(KEY_TAKE).run({ key, n: slot.n, jobLimit: slot.jobLimit });
  }
  return admitted;
}

interface KeyRow {
  key: string;
  in_use: number;
  limit_now: number;
  max: number | null;
}

/** The limits part of SqliteStore (LimitsStore in ../store.ts). */
export class SqliteLimits implements LimitsStore {
  constructor(private readonly conn: SqliteConnection) {}

  concurrencyKeyList(params: {
    after?: string;
    limit: number;
    running?: boolean;
  }): Promise<ConcurrencyKeyInfo[]> {
    return this.conn.read(() =>
      (
        this.conn.stmt(KEY_LIST).all({
          after: params.after ?? '',
          running: params.running === true ? 1 : 0,
          limit: params.limit,
        }) as KeyRow[]
      ).map((row) => ({ key: row.key, running: row.in_use, limit: row.limit_now, operatorLimit: row.max })),
    );
  }

  async concurrencyKeySetLimit(params: { key: string; limit: number | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(KEY_SET_LIMIT).run({ key: params.key, max: params.limit });
    });
  }
}
