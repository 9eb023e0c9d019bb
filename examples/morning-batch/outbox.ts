/**
 * The outbox the messages are published to: a table in the job database, so a message row and the
 * completion of its job commit in one transaction (`ctx.transaction`) and a message is never
 * published twice, whatever crashes. A relay would forward these rows to the real message broker.
 *
 * The table belongs to the application, so its SQL lives here, once per backend.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { Store } from '../../src/store/store.js';
import type { Order } from './orders.js';

/** One published message, as the outbox keeps it. */
export interface OutboxMessage {
  orderId: string;
  jobId: string;
}

/** Creates the outbox table if it is missing. `schema` is the PostgreSQL schema nightshift uses. */
export async function createOutbox(store: Store, schema: string): Promise<void> {
  const ddl = `CREATE TABLE IF NOT EXISTS ${tableName(store.dialect, schema)} (
    order_id TEXT NOT NULL, job_id TEXT NOT NULL, customer_id INTEGER NOT NULL, total_cents INTEGER NOT NULL)`;
  await store.transaction(async (tx) => {
    await run(tx, ddl, []);
  });
}

/** Inserts one message on a `ctx.transaction` handle (either backend's). */
export async function publishMessage(
  schema: string,
  tx: unknown,
  jobId: string,
  order: Order,
): Promise<void> {
  const sqlite = isSqlite(tx);
  const values = [order.orderId, jobId, order.customerId, order.totalCents];
  const placeholders = sqlite ? '?, ?, ?, ?' : '$1, $2, $3, $4';
  const table = tableName(sqlite ? 'sqlite' : 'postgres', schema);
  await run(
    tx,
    `INSERT INTO ${table} (order_id, job_id, customer_id, total_cents) VALUES (${placeholders})`,
    values,
  );
}

/** Every message in the outbox, by order id. */
export async function readOutbox(store: Store, schema: string): Promise<OutboxMessage[]> {
  const sql = `SELECT order_id AS "orderId", job_id AS "jobId" FROM ${tableName(store.dialect, schema)} ORDER BY order_id`;
  return store.transaction((tx) => run(tx, sql, []) as Promise<OutboxMessage[]>);
}

function tableName(dialect: Store['dialect'], schema: string): string {
  return dialect === 'sqlite' ? 'morning_batch_outbox' : `"${schema}".morning_batch_outbox`;
}

function isSqlite(tx: unknown): tx is Database.Database {
  return typeof (tx as { prepare?: unknown }).prepare === 'function';
}

async function run(tx: unknown, sql: string, values: unknown[]): Promise<unknown[]> {
  if (isSqlite(tx)) {
    const statement = tx.prepare(sql);
    if (statement.reader) return statement.all(...values);
    statement.run(...values);
    return [];
  }
  return (await (tx as pg.ClientBase).query(sql, values)).rows as unknown[];
}
