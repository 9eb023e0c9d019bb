-- A grouped job may require worker labels (docs/TENANCY.md, "Fair claiming by group"): it is claimed
-- in its group's turns, only by a worker offering every label it requires.
--
-- job_queue_ready_group_idx now holds only the grouped rows without requirements, so the walk of a
-- worker without labels reads exactly the entries it read before (a database without labelled grouped
-- jobs has the same ones) and never passes over rows it may not take. Testing the labels as a filter
-- of that walk instead made PostgreSQL, on a table without statistics, read and sort every grouped row
-- after the cursor at each step (a claim of 100 over 20,000 jobs in 1,000 groups: ~0.9 s instead of
-- ~26 ms). The labelled grouped rows sit in job_queue_ready_group_labels_idx, requirement set first,
-- then (queue, group) and each pair in claim order: a labelled worker finds the sets present one probe
-- per distinct set, keeps those it meets, and at each step of its walk descends once per such set
-- beside the unlabelled index, taking the first pair of them all (sql/job-groups.ts).
DROP INDEX job_queue_ready_group_idx;
CREATE INDEX job_queue_ready_group_idx ON job_queue ((queue COLLATE "C"), group_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL;
CREATE INDEX job_queue_ready_group_labels_idx
  ON job_queue (requires, (queue COLLATE "C"), group_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL;
