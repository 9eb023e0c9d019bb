-- The failed and cancelled jobs, by id: what an operator opens first ("what failed?"), a handful among
-- the finished history. `jobs` has no index on state (migration 005: every claim and finish changes it,
-- and an index naming it, even in a partial index's condition, would cost each of them an entry in
-- every index of the table), so listing failed jobs walked the primary key through the whole history:
-- 20 failed jobs among a million finished took 5 to 7 s to list.
--
-- job_dead holds their ids, kept by triggers on `jobs`, so no statement that changes a job's state
-- needs to know of it and the table matches the jobs' states by construction. Each trigger's WHEN
-- clause filters rows before any function runs: a claim or a completion (queued to running, running to
-- completed) runs no function and writes nothing here; only entering or leaving failed or cancelled (a
-- failure, a cancel, a retry), and deleting such a job, write one row. The WHEN test itself costs a
-- claim or a completion ~3,300 server instructions per job (3-4% of those statements, `npm run
-- bench:sql`). Jobs are never inserted failed or cancelled, so inserts have no trigger.
CREATE TABLE job_dead (id uuid PRIMARY KEY);

-- The migration's search_path (the store's schema) is the function's, whoever fires it.
CREATE FUNCTION job_dead_track() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE job_dead;
  ELSIF TG_OP = 'DELETE' OR NEW.state NOT IN ('failed', 'cancelled') THEN
    DELETE FROM job_dead WHERE id = OLD.id;
  ELSE
    INSERT INTO job_dead (id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER job_dead_update AFTER UPDATE OF state ON jobs FOR EACH ROW
  WHEN ((OLD.state IN ('failed', 'cancelled')) <> (NEW.state IN ('failed', 'cancelled')))
  EXECUTE FUNCTION job_dead_track();
CREATE TRIGGER job_dead_delete AFTER DELETE ON jobs FOR EACH ROW
  WHEN (OLD.state IN ('failed', 'cancelled')) EXECUTE FUNCTION job_dead_track();
CREATE TRIGGER job_dead_truncate AFTER TRUNCATE ON jobs FOR EACH STATEMENT EXECUTE FUNCTION job_dead_track();

INSERT INTO job_dead (id) SELECT id FROM jobs WHERE state IN ('failed', 'cancelled');
