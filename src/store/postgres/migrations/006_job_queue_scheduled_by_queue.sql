-- Due delayed and retried jobs of chosen queues, each queue's in due order. A worker limited to some
-- queues promotes the due jobs of those queues in its claim; with only job_queue_scheduled_idx it read
-- every due row of every queue, filtered them by queue and sorted them whenever the planner's row
-- estimate was low (statistics taken before a burst came due), so each claim during a burst of a
-- million due jobs read all of them. With this index the claim walks each chosen queue's due head in
-- order (sql/job-claim.ts), as the claim from all queues walks job_queue_scheduled_idx. It costs a
-- delayed or retried job one more index entry; jobs due at once are not in it.
CREATE INDEX job_queue_scheduled_queue_idx ON job_queue (queue, run_at, id) WHERE state = 'scheduled';
