/** Job log lines: appended in batches by workers, read per job (index job_logs_job_idx). */

/**
 * One row per array element. $1 job ids, $2 attempts, $3 seqs, $4 times in ms since the epoch,
 * $5 levels, $6 messages, $7 data (JSON text or null).
 */
export const jobLogAppend = (s: string): string => `
  INSERT INTO ${s}.job_logs (job_id, attempt, seq, at, level, message, data)
  SELECT job_id, attempt, seq, to_timestamp(at_ms / 1000.0), level, message, data
  FROM unnest($1::uuid[], $2::int[], $3::int[], $4::float8[], $5::text[], $6::text[], $7::json[])
    AS line(job_id, attempt, seq, at_ms, level, message, data)`;

/** A job's lines in the order they were logged. $1 job id. */
export const jobLogList = (s: string): string => `
  SELECT attempt, at, level, message, data FROM ${s}.job_logs
  WHERE job_id = $1
  ORDER BY attempt, at, seq`;
