/**
 * Concurrency limits in SQLite: which ready jobs a claim may start, taking their slots, and the reads
 * and settings of keys and queues (LimitsStore in ../store.ts).
 */
import type { ConcurrencyKeyInfo, JobGroupInfo, LimitsStore, QueueLimitInfo } from '../store.js';
import type { SqliteConnection } from './connection.js';
import {
  KEY_GET,
  KEY_LIST,
  KEY_SET_LIMIT,
  KEY_TAKE,
  QUEUE_LIMIT_LIST,
  QUEUE_LIMITS_GET,
  QUEUE_SET_LIMIT,
  QUEUE_TAKE,
} from './sql/concurrency-limits.js';
import { GROUP_LIST, GROUP_SET_WEIGHT } from './sql/job-groups.js';

/** What the limit checks need of a ready job. */
export interface LimitedCandidate {
  queue: string;
  concurrency_key: string | null;
  concurrency_limit: number | null;
}

interface Slots {
  free: number;
  n: number;
}

/**
 * Keeps the candidates (in claim order) that fit the free slots of their queue and of their key, and
 * takes those slots; `queueSlot` says which admitted jobs hold a queue slot. Runs inside the claim's
 * write transaction, which no other writer can interleave with: exact.
 */
export function admitByLimits<T extends LimitedCandidate>(
  conn: SqliteConnection,
  candidates: T[],
): { admitted: T[]; queueSlot: (job: T) => boolean } {
  const queues = new Map<string, Slots>();
  for (const row of conn.stmt(QUEUE_LIMITS_GET).all() as Array<{
    queue: string;
    max: number;
    in_use: number;
  }>) {
    queues.set(row.queue, { free: row.max - row.in_use, n: 0 });
  }
  const keys = new Map<string, Slots & { jobLimit: number }>();
  const admitted = candidates.filter((job) => {
    const queue = queues.get(job.queue);
    if (queue !== undefined && queue.n >= queue.free) return false;
    const key = job.concurrency_key === null ? undefined : keySlots(conn, keys, job.concurrency_key, job);
    if (key !== undefined && key.n >= key.free) return false;
    if (queue !== undefined) queue.n += 1;
    if (key !== undefined) key.n += 1;
    return true;
  });
  for (const [key, slots] of keys) {
    if (slots.n > 0) conn.stmt(KEY_TAKE).run({ key, n: slots.n, jobLimit: slots.jobLimit });
  }
  for (const [queue, slots] of queues) {
    if (slots.n > 0) conn.stmt(QUEUE_TAKE).run({ queue, n: slots.n });
  }
  return { admitted, queueSlot: (job) => queues.has(job.queue) };
}

function keySlots(
  conn: SqliteConnection,
  keys: Map<string, Slots & { jobLimit: number }>,
  key: string,
  job: LimitedCandidate,
): Slots {
  let slots = keys.get(key);
  if (slots === undefined) {
    const jobLimit = job.concurrency_limit ?? 1;
    const row = conn.stmt(KEY_GET).get(key) as { in_use: number; max: number | null } | undefined;
    slots = { free: (row?.max ?? jobLimit) - (row?.in_use ?? 0), n: 0, jobLimit };
    keys.set(key, slots);
  }
  return slots;
}

interface KeyRow {
  key: string;
  in_use: number;
  limit_now: number;
  max: number | null;
}

/** The limits part of SqliteStore. */
export class SqliteLimits implements LimitsStore {
  constructor(private readonly conn: SqliteConnection) {}

  groupList(params: { after?: string; limit: number }): Promise<JobGroupInfo[]> {
    return this.conn.read(
      () =>
        this.conn.stmt(GROUP_LIST).all({ after: params.after ?? '', limit: params.limit }) as JobGroupInfo[],
    );
  }

  async groupSetWeight(params: { group: string; weight: number | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(GROUP_SET_WEIGHT).run({ group: params.group, weight: params.weight });
    });
  }

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

  queueLimitList(): Promise<QueueLimitInfo[]> {
    return this.conn.read(() =>
      (
        this.conn.stmt(QUEUE_LIMIT_LIST).all() as Array<{ queue: string; max: number | null; in_use: number }>
      ).map((row) => ({ queue: row.queue, limit: row.max, running: row.in_use })),
    );
  }

  async queueSetLimit(params: { queue: string; limit: number | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(QUEUE_SET_LIMIT).run({ queue: params.queue, max: params.limit });
    });
  }
}
