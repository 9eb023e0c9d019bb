/** What a running attempt records while it holds its lease: durable step results and its checkpoint. */
import type {
  JobCheckpointSaveParams,
  JobStepGetParams,
  JobStepGetResult,
  JobStepSaveParams,
} from '../store.js';
import type { PostgresConnection } from './connection.js';
import { isUuid, toBoxedJson, unbox } from './job-row.js';

/** `jobStepGet`: a recorded step result. */
export async function jobStepGet(
  conn: PostgresConnection,
  params: JobStepGetParams,
): Promise<JobStepGetResult> {
  if (!isUuid(params.jobId)) return { found: false, result: undefined };
  const [row] = await conn.rows<{ result: unknown }>(conn.sql.jobStepGet, [params.jobId, params.name]);
  return row ? { found: true, result: unbox(row.result) } : { found: false, result: undefined };
}

/** `jobStepSave`: records a step result while the attempt holds its lease. */
export async function jobStepSave(conn: PostgresConnection, params: JobStepSaveParams): Promise<boolean> {
  if (!isUuid(params.id) || !isUuid(params.leaseToken)) return false;
  const rows = await conn.rows(conn.sql.jobStepSave, [
    params.id,
    params.leaseToken,
    params.name,
    toBoxedJson(params.result),
  ]);
  return rows.length === 1;
}

/** `jobCheckpointSave`: saves a checkpoint while the attempt holds its lease (on the caller's `tx`). */
export async function jobCheckpointSave(
  conn: PostgresConnection,
  params: JobCheckpointSaveParams,
): Promise<boolean> {
  if (!isUuid(params.id) || !isUuid(params.leaseToken)) return false;
  const values = [params.id, params.leaseToken, toBoxedJson(params.checkpoint)];
  return (await conn.result(conn.sql.jobCheckpointSave, values, params.tx)).rowCount === 1;
}
