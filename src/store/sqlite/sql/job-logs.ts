/** Job log lines: appended in batches by workers, read per job (index job_logs_job). */

export const jobLogAppend = `
INSERT INTO job_logs (job_id, attempt, seq, at, level, message, data)
VALUES (@jobId, @attempt, @seq, @at, @level, @message, @data)`;

/** A job's lines in the order they were logged. */
export const jobLogList = `
SELECT attempt, at, level, message, data FROM job_logs
WHERE job_id = ?
ORDER BY attempt, at, seq`;
