-- The requirement-set walk of a labelled claim (sql/worker-labels.ts) takes each next set from this
-- function instead of an inline subquery, so that its plan cannot read every labelled row.
--
-- Inline, the probe "first requirement set after this one", once its statement was planned again on a
-- grown table with statistics taken before any job had requirements (every `requires` NULL, so one row
-- expected), read every labelled ready row after the cursor and sorted them, at every step of the walk
-- (a bitmap scan of the set-led index, or a full scan of the queue-led one): a cost growing with the
-- labelled backlog, where the ordered descent of the set-led index lands on one row. With one row
-- expected, reading "all" of them and sorting looks as cheap as the descent, so nothing in the query
-- text tips it. The function plans its probe with sorts off, leaving the ordered descent as the only
-- plan without one. Its body is planned inside the function (plpgsql keeps the plan per connection), so
-- the setting reaches every replanning too, and nothing else of the claim is planned with it.
-- search_path is the migration's: the store's schema.
CREATE FUNCTION nightshift_next_requirement_set(after text[], grouped boolean) RETURNS text[]
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET enable_sort = off
  SET search_path FROM CURRENT
  AS $$
BEGIN
  IF grouped THEN
    RETURN (SELECT q.requires FROM job_queue q
            WHERE q.state = 'queued' AND q.requires IS NOT NULL AND q.group_key IS NOT NULL
              AND q.requires > after
            ORDER BY q.requires LIMIT 1);
  END IF;
  RETURN (SELECT q.requires FROM job_queue q
          WHERE q.state = 'queued' AND q.requires IS NOT NULL AND q.group_key IS NULL
            AND q.requires > after
          ORDER BY q.requires LIMIT 1);
END
$$;
