/**
 * Every PostgreSQL transaction of the store: BEGIN (the store's, with its statement timeout behind a
 * pooler), the work, then COMMIT, or ROLLBACK when the work or the COMMIT fails.
 *
 * Application transactions (`store.transaction(fn)`) run READ COMMITTED on a pooled client. Fenced
 * writes in them lock their job row until COMMIT, so a rescue racing the transaction passes that job
 * over until it ends, and then sees its outcome. Store events caused inside are held back and emitted
 * only after COMMIT (dropped on ROLLBACK).
 */
import type pg from 'pg';
import { withPooledClient } from './pool.js';

/** Runs `fn` on `client` between `begin` and COMMIT; rolls back and rethrows when anything fails. */
export async function inTransaction<T>(
  client: pg.ClientBase,
  begin: string,
  fn: () => Promise<T>,
): Promise<T> {
  await client.query(begin);
  try {
    const value = await fn();
    await client.query('COMMIT');
    return value;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Runs `fn` in a transaction on a client checked out of `pool` (see `inTransaction`). */
export function withTransaction<T>(
  pool: pg.Pool,
  begin: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withPooledClient(pool, (client) => inTransaction(client, begin, () => fn(client)));
}

/** A failure of the caller's own function, which goes back to it as it is (no store error mapping). */
class CallerFailure extends Error {
  constructor(readonly failure: unknown) {
    super('the transaction function failed');
  }
}

/** Opens and ends application transactions and holds their after-commit events. */
export class PostgresTransactions {
  /** After-commit callbacks of the open application transactions, by their client. */
  private readonly open = new WeakMap<object, Array<() => void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly begin: string,
  ) {}

  /** Runs `emit` after `tx` (a handle from `run`) commits; at once for any other `tx` or none. */
  afterCommit(tx: unknown, emit: () => void): void {
    const pending = typeof tx === 'object' && tx !== null ? this.open.get(tx) : undefined;
    if (pending) pending.push(emit);
    else emit();
  }

  /** Runs `fn` with a pooled client inside a transaction; commits on resolve, rolls back on reject. */
  async run<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const outcome = await withPooledClient(this.pool, async (client) => {
      const pending: Array<() => void> = [];
      this.open.set(client, pending);
      try {
        const value = await inTransaction(client, this.begin, async () => {
          try {
            return await fn(client);
          } catch (error) {
            throw new CallerFailure(error);
          }
        });
        return { failed: false as const, value, pending };
      } catch (error) {
        if (error instanceof CallerFailure) return { failed: true as const, error: error.failure };
        throw error;
      } finally {
        this.open.delete(client);
      }
    });
    if (outcome.failed) throw outcome.error;
    for (const emit of outcome.pending) emit();
    return outcome.value;
  }
}
