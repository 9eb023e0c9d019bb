-- A job's `job:enqueued` event is written by the store's insert (sqlite/job-insert.ts `insertJobRows`),
-- one INSERT of a whole batch's event rows after its job rows, in the same transaction, instead of by a
-- trigger per row, whose program ran once per inserted job: a bulk enqueue through the store runs
-- 12-16% faster (docs/PERFORMANCE.md, "Enqueue events per batch"). Every insert of a job row goes
-- through insertJobRows (enqueues, child jobs, transactional enqueues on a caller's handle, schedule
-- slots' jobs), and the rows and events keep one format: readers see no difference. The transition
-- trigger stays.
DROP TRIGGER events_job_enqueued;
