-- A job's `job:enqueued` event is written by the store's insert (sqlite/job-insert.ts `insertJobRows`),
-- one INSERT of a whole batch's event rows after its job rows, in the same transaction, instead of by a
-- trigger per row: the trigger's program ran once per inserted job and cost ~6.5 of the ~25 µs of CPU
-- a job took in a 1,000-job bulk enqueue. Every insert of a job row goes through insertJobRows
-- (enqueues, child jobs, transactional enqueues on a caller's handle, schedule slots' jobs), and the
-- rows and events keep one format: readers see no difference. The transition trigger stays.
DROP TRIGGER events_job_enqueued;
