/** What a running attempt records while it holds its lease: durable step results and its checkpoint. */
import type {
  JobCheckpointSaveParams,
  JobStepGetParams,
  JobStepGetResult,
  JobStepSaveParams,
} from '../store.js';
import type { SqliteConnection } from './connection.js';
import { decodeJson, encodeJson } from './job-row.js';
import * as sql from './sql/job-lease.js';
import type { SqliteTransactions } from './transaction.js';

/** `jobStepGet`: a recorded step result. */
export async function jobStepGet(
  conn: SqliteConnection,
  params: JobStepGetParams,
): Promise<JobStepGetResult> {
  const row = await conn.read(
    () => conn.stmt(sql.jobStepGet).get(params.jobId, params.name) as { result: string | null } | undefined,
  );
  return row ? { found: true, result: decodeJson(row.result) } : { found: false, result: undefined };
}

/** `jobStepSave`: records a step result while the attempt holds its lease. */
export function jobStepSave(conn: SqliteConnection, params: JobStepSaveParams): Promise<boolean> {
  return conn.write(
    (now) =>
      conn.stmt(sql.jobStepSave).run({
        id: params.id,
        leaseToken: params.leaseToken,
        name: params.name,
        result: encodeJson(params.result),
        now,
      }).changes === 1,
  );
}

/** `jobCheckpointSave`: saves a checkpoint while the attempt holds its lease (inside `tx` when given). */
export function jobCheckpointSave(
  conn: SqliteConnection,
  transactions: SqliteTransactions,
  params: JobCheckpointSaveParams,
): Promise<boolean> {
  const save = (now: number): boolean =>
    conn.stmt(sql.jobCheckpointSave).run({
      id: params.id,
      leaseToken: params.leaseToken,
      checkpoint: encodeJson(params.checkpoint),
      now,
    }).changes === 1;
  return params.tx === undefined ? conn.write(save) : transactions.writeIn(params.tx, save);
}
