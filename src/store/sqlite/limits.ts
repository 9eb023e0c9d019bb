/**
 * Concurrency limits in SQLite: which ready jobs a claim may start, taking their slots, and the reads
 * and settings of keys, queues and groups (LimitsStore in ../store.ts).
 */
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
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/concurrency-limits.js';
import * as groupSql from './sql/job-groups.js';
import * as rateSql from './sql/rate-limits.js';

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

/** A queue's free starts: the fewer of its free slots (when limited) and its rate's (when rated). */
interface QueueSlots extends Slots {
  limited: boolean;
  rated: boolean;
}

interface QueueLimitRow {
  queue: string;
  max: number | null;
  in_use: number;
  rate_free: number | null;
}

/**
 * Keeps the candidates (in claim order) that fit the free slots of their queue and of their key and
 * the rates of both at `now`, and takes those slots and starts. A keyed job fits while fewer than its
 * own limit (the operator's when set) of its key's jobs run, counting those this claim took before
 * it: jobs of one key with different limits each start by theirs, as they would one claim at a time.
 * `queueSlot` says which admitted jobs hold a queue slot; `limitsMet` whether any queue has a limit or
 * a rate or a candidate has a key (ClaimReport `limitsMet`). Runs inside the claim's write
 * transaction, which no other writer can interleave with: exact.
 */
export function admitByLimits<T extends LimitedCandidate>(
  conn: SqliteConnection,
  candidates: T[],
  now: number,
): { admitted: T[]; queueSlot: (job: T) => boolean; limitsMet: boolean } {
  const queues = new Map<string, QueueSlots>();
  for (const row of conn.stmt(sql.jobClaimQueueLimits).all({ now }) as QueueLimitRow[]) {
    const slots = row.max === null ? Infinity : row.max - row.in_use;
    queues.set(row.queue, {
      free: Math.min(slots, row.rate_free ?? Infinity),
      n: 0,
      limited: row.max !== null,
      rated: row.rate_free !== null,
    });
  }
  const keyRows = keyRowsOf(conn, candidates, now);
  const keys = new Map<string, KeySlots>();
  const admitted = candidates.filter((job) => {
    const queue = queues.get(job.queue);
    if (queue !== undefined && queue.n >= queue.free) return false;
    const key = job.concurrency_key === null ? undefined : keySlots(keyRows, keys, job.concurrency_key);
    // Its own limit, whatever those of the key's other jobs: it starts while fewer than that run.
    const jobLimit = job.concurrency_limit ?? 1;
    if (key !== undefined && (key.inUse + key.n >= (key.max ?? jobLimit) || key.n >= key.rateFree)) {
      return false;
    }
    if (queue !== undefined) queue.n += 1;
    if (key !== undefined) {
      key.n += 1;
      key.jobLimit = Math.min(key.jobLimit, jobLimit);
    }
    return true;
  });
  const takes: Array<[string, number, number]> = [];
  for (const [key, slots] of keys) if (slots.n > 0) takes.push([key, slots.n, slots.jobLimit]);
  if (takes.length > 0) conn.stmt(sql.jobClaimKeysTake).run({ takes: JSON.stringify(takes), now });
  for (const [queue, slots] of queues) {
    if (slots.n === 0) continue;
    if (slots.limited) conn.stmt(sql.jobClaimQueueTake).run({ queue, n: slots.n });
    if (slots.rated) conn.stmt(rateSql.jobClaimQueueRateTake).run({ queue, n: slots.n, now });
  }
  return {
    admitted,
    queueSlot: (job) => queues.get(job.queue)?.limited === true,
    limitsMet: queues.size > 0 || keys.size > 0,
  };
}

/** A key in a claim: its row as read (none: no job of it ever ran) and what the claim took of it. */
interface KeySlots {
  inUse: number;
  max: number | null;
  /** The starts its rate allows now (Infinity: no rate). */
  rateFree: number;
  n: number;
  /** The smallest own limit among the jobs taken, which the key list shows. */
  jobLimit: number;
}

interface KeyRow {
  key: string;
  in_use: number;
  max: number | null;
  rate_free: number | null;
}

/** The rows of the candidates' keys that have one, by key: one statement for them all. */
function keyRowsOf(conn: SqliteConnection, candidates: LimitedCandidate[], now: number): Map<string, KeyRow> {
  const names = new Set<string>();
  for (const job of candidates) if (job.concurrency_key !== null) names.add(job.concurrency_key);
  if (names.size === 0) return new Map();
  const rows = conn.stmt(sql.jobClaimKeysGet).all({ keys: JSON.stringify([...names]), now }) as KeyRow[];
  return new Map(rows.map((row) => [row.key, row]));
}

/** A key's state in this claim, made from its row when the claim first meets one of its jobs. */
function keySlots(rows: Map<string, KeyRow>, keys: Map<string, KeySlots>, key: string): KeySlots {
  let slots = keys.get(key);
  if (slots === undefined) {
    const row = rows.get(key);
    slots = {
      inUse: row?.in_use ?? 0,
      max: row?.max ?? null,
      rateFree: row?.rate_free ?? Infinity,
      n: 0,
      jobLimit: Infinity,
    };
    keys.set(key, slots);
  }
  return slots;
}

/** The limits part of SqliteStore. */
export class SqliteLimits implements LimitsStore {
  constructor(private readonly conn: SqliteConnection) {}

  groupList(params: { after?: string; limit: number; running?: boolean }): Promise<JobGroupInfo[]> {
    return this.conn.read(
      () =>
        this.conn.stmt(groupSql.groupList).all({
          after: params.after ?? '',
          running: params.running === true ? 1 : 0,
          limit: params.limit,
          now: this.conn.clock(),
        }) as JobGroupInfo[],
    );
  }

  async groupSetWeight(params: { group: string; weight: number | null }): Promise<void> {
    await this.conn.write(() => {
      if (params.weight === null) this.conn.stmt(groupSql.groupSetWeightDefault).run({ group: params.group });
      else this.conn.stmt(groupSql.groupSetWeight).run({ group: params.group, weight: params.weight });
    });
  }

  concurrencyKeyList(params: {
    after?: string;
    limit: number;
    running?: boolean;
  }): Promise<ConcurrencyKeyInfo[]> {
    return this.conn.read(() =>
      (
        this.conn.stmt(sql.concurrencyKeyList).all({
          after: params.after ?? '',
          running: params.running === true ? 1 : 0,
          limit: params.limit,
          now: this.conn.clock(),
        }) as KeyListRow[]
      ).map(toConcurrencyKeyInfo),
    );
  }

  async concurrencyKeySetLimit(params: { key: string; limit: number | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(sql.concurrencyKeySetLimit).run({ key: params.key, max: params.limit });
    });
  }

  concurrencyKeyPrune(params: PruneParams): Promise<{ deleted: number }> {
    return this.conn.write(() => ({
      deleted: this.conn
        .stmt(sql.concurrencyKeyPrune)
        .run({ olderThanMs: params.olderThanMs, limit: params.limit }).changes,
    }));
  }

  queueLimitList(): Promise<QueueLimitInfo[]> {
    return this.conn.read(() =>
      (this.conn.stmt(sql.queueLimitList).all() as QueueLimitListRow[]).map(toQueueLimitInfo),
    );
  }

  async queueSetLimit(params: { queue: string; limit: number | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(sql.queueSetLimit).run({ queue: params.queue, max: params.limit });
    });
  }

  async concurrencyKeySetRate(params: { key: string; rate: StartRate | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(rateSql.concurrencyKeySetRate).run({ key: params.key, ...rateParams(params.rate) });
    });
  }

  async queueSetRate(params: { queue: string; rate: StartRate | null }): Promise<void> {
    await this.conn.write(() => {
      this.conn.stmt(rateSql.queueSetRate).run({ queue: params.queue, ...rateParams(params.rate) });
    });
  }
}

/** A rate's statement parameters; NULLs remove it. */
function rateParams(rate: StartRate | null): { limit: number | null; periodMs: number | null } {
  return { limit: rate?.limit ?? null, periodMs: rate?.periodMs ?? null };
}
