/** Durable steps: a recorded result per (job, step name). */

/** $1 job id, $2 step name. */
export const jobStepGet = (s: string): string =>
  `SELECT result FROM ${s}.job_steps WHERE job_id = $1 AND name = $2`;

/**
 * Records a step only while the attempt holds its lease; FOR SHARE keeps the job row (and so the
 * lease) from changing until the insert commits. $1 job id, $2 lease token, $3 name, $4 result (JSON).
 */
export const jobStepSave = (s: string): string => `
  INSERT INTO ${s}.job_steps (job_id, name, result)
  SELECT j.id, $3, $4::json FROM ${s}.jobs j
  WHERE j.id = $1 AND j.lease_token = $2 AND j.state = 'running'
  FOR SHARE
  ON CONFLICT (job_id, name) DO UPDATE SET result = excluded.result
  RETURNING 1`;
