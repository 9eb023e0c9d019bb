-- enum types
job_state | cancelled,completed,failed,queued,running,scheduled

-- relations (kind, persistence, options)
api_tokens | r | p | 
concurrency_keys | r | p | 
events | r | p | 
events_id_seq | S | p | 
job_dead | r | p | 
job_finish_log | r | p | 
job_group_cursors | r | p | 
job_groups | r | p | 
job_leases | r | p | 
job_logs | r | p | 
job_queue | r | p | 
job_run_history | v | p | 
job_runs | r | p | 
job_steps | r | p | 
jobs | r | p | fillfactor=40
paused_queues | r | p | 
queue_limits | r | p | 
schedule_slots | r | p | 
schedules | r | p | 
schema_migrations | r | p | 
workers | r | u | 

-- columns
api_tokens | id | uuid | true | 
api_tokens | name | text | true | 
api_tokens | role | text | true | 
api_tokens | hash | text | true | 
api_tokens | created_at | timestamp with time zone | true | <schema>.nightshift_now()
api_tokens | expires_at | timestamp with time zone | false | 
api_tokens | last_used_at | timestamp with time zone | false | 
api_tokens | revoked_at | timestamp with time zone | false | 
concurrency_keys | key | text | true | 
concurrency_keys | in_use | integer | true | 0
concurrency_keys | max | integer | false | 
concurrency_keys | job_limit | integer | false | 
concurrency_keys | rate_limit | integer | false | 
concurrency_keys | rate_period_ms | integer | false | 
concurrency_keys | rate_tat | double precision | true | 0
concurrency_keys | released_at | timestamp with time zone | true | <schema>.nightshift_now()
events | tx | xid8 | true | pg_current_xact_id()
events | id | bigint | true | 
events | at | timestamp with time zone | true | <schema>.nightshift_now()
events | type | text | true | 
events | job_ids | uuid[] | false | 
events | tasks | text[] | false | 
events | queues | text[] | false | 
events | attempts | integer[] | false | 
events | states | <schema>.job_state[] | false | 
events | errors | jsonb[] | false | 
events | schedule_ids | text[] | false | 
events | data | jsonb | false | 
job_dead | id | uuid | true | 
job_finish_log | finished_at | timestamp with time zone | true | 
job_finish_log | job_ids | uuid[] | true | 
job_group_cursors | queue_set | text | true | 
job_group_cursors | queue | text | true | 
job_group_cursors | group_key | text | true | 
job_group_cursors | used | integer | true | 
job_groups | group_key | text | true | 
job_groups | weight | integer | true | 
job_leases | token | uuid | true | 
job_leases | worker_id | text | true | 
job_leases | expires_at | timestamp with time zone | true | 
job_leases | job_ids | uuid[] | true | 
job_leases | grouped | boolean | false | 
job_logs | job_id | uuid | true | 
job_logs | attempt | integer | true | 
job_logs | seq | integer | true | 
job_logs | at | timestamp with time zone | true | 
job_logs | level | text | true | 
job_logs | message | text | true | 
job_logs | data | json | false | 
job_queue | id | uuid | true | 
job_queue | queue | text | true | 
job_queue | priority | integer | true | 
job_queue | run_at | timestamp with time zone | true | 
job_queue | state | <schema>.job_state | true | 
job_queue | concurrency_key | text | false | 
job_queue | concurrency_limit | integer | false | 
job_queue | requires | text[] | false | 
job_queue | group_key | text | false | 
job_run_history | job_id | uuid | false | 
job_run_history | attempt | integer | false | 
job_run_history | worker_id | text | false | 
job_run_history | started_at | timestamp with time zone | false | 
job_run_history | finished_at | timestamp with time zone | false | 
job_run_history | due_at | timestamp with time zone | false | 
job_run_history | outcome | text | false | 
job_run_history | error | jsonb | false | 
job_run_history | max_duration_exceeded | boolean | false | 
job_runs | job_id | uuid | true | 
job_runs | attempt | integer | true | 
job_runs | worker_id | text | true | 
job_runs | started_at | timestamp with time zone | true | 
job_runs | finished_at | timestamp with time zone | true | 
job_runs | due_at | timestamp with time zone | true | 
job_runs | outcome | text | true | 
job_runs | error | jsonb | false | 
job_runs | max_duration_exceeded | boolean | true | false
job_steps | job_id | uuid | true | 
job_steps | name | text | true | 
job_steps | result | json | true | 
job_steps | created_at | timestamp with time zone | true | <schema>.nightshift_now()
jobs | id | uuid | true | 
jobs | task | text | true | 
jobs | queue | text | true | 
jobs | payload | json | false | 
jobs | state | <schema>.job_state | true | 
jobs | priority | integer | true | 0
jobs | attempt | integer | true | 0
jobs | max_attempts | integer | true | 
jobs | run_at | timestamp with time zone | true | 
jobs | created_at | timestamp with time zone | true | <schema>.nightshift_now()
jobs | updated_at | timestamp with time zone | true | <schema>.nightshift_now()
jobs | started_at | timestamp with time zone | false | 
jobs | finished_at | timestamp with time zone | false | 
jobs | lease_expires_at | timestamp with time zone | false | 
jobs | lease_token | uuid | false | 
jobs | worker_id | text | false | 
jobs | result | json | false | 
jobs | error | jsonb | false | 
jobs | idempotency_key | text | false | 
jobs | concurrency_key | text | false | 
jobs | lease_ms | integer | false | 
jobs | timeout_ms | integer | false | 
jobs | checkpoint | json | false | 
jobs | cancel_requested | boolean | true | false
jobs | schedule_id | text | false | 
jobs | schedule_slot | timestamp with time zone | false | 
jobs | parent_id | text | false | 
jobs | trace_context | text | false | 
jobs | concurrency_limit | integer | false | 
jobs | queue_slot | boolean | true | false
jobs | requires | text[] | false | 
jobs | group_key | text | false | 
paused_queues | queue | text | true | 
paused_queues | paused_at | timestamp with time zone | true | <schema>.nightshift_now()
queue_limits | queue | text | true | 
queue_limits | max | integer | false | 
queue_limits | in_use | integer | true | 0
queue_limits | rate_limit | integer | false | 
queue_limits | rate_period_ms | integer | false | 
queue_limits | rate_tat | double precision | true | 0
schedule_slots | schedule_id | text | true | 
schedule_slots | slot_key | text | true | 
schedule_slots | slot_at | timestamp with time zone | true | 
schedule_slots | kind | text | true | 
schedule_slots | status | text | true | 
schedule_slots | reason | text | false | 
schedule_slots | job_id | uuid | false | 
schedule_slots | slot_count | bigint | false | 
schedule_slots | slot_until | timestamp with time zone | false | 
schedule_slots | drain_seq | integer | true | 0
schedule_slots | recorded_at | timestamp with time zone | true | 
schedule_slots | outcome | text | false | 
schedule_slots | duration_ms | bigint | false | 
schedule_slots | run_lag_ms | bigint | false | 
schedule_slots | finished_at | timestamp with time zone | false | 
schedules | id | text | true | 
schedules | task | text | true | 
schedules | cron | text | false | 
schedules | every_ms | bigint | false | 
schedules | timezone | text | true | 
schedules | payload | json | true | 
schedules | queue | text | false | 
schedules | priority | integer | false | 
schedules | jitter_ms | integer | true | 0
schedules | overlap | text | true | 
schedules | catch_up | text | true | 
schedules | catch_up_limit | integer | true | 
schedules | max_consecutive_failures | integer | false | 
schedules | max_drain_runs | integer | true | 
schedules | source | text | true | 
schedules | paused | boolean | true | false
schedules | next_slot_at | timestamp with time zone | false | 
schedules | last_slot_at | timestamp with time zone | false | 
schedules | last_job_id | uuid | false | 
schedules | last_outcome | text | false | 
schedules | last_started_at | timestamp with time zone | false | 
schedules | last_finished_at | timestamp with time zone | false | 
schedules | last_duration_ms | bigint | false | 
schedules | last_run_lag_ms | bigint | false | 
schedules | consecutive_failures | integer | true | 0
schedules | last_error | jsonb | false | 
schedules | suspended_at | timestamp with time zone | false | 
schedules | suspended_reason | text | false | 
schedules | version | integer | true | 1
schedules | created_at | timestamp with time zone | true | <schema>.nightshift_now()
schedules | updated_at | timestamp with time zone | true | <schema>.nightshift_now()
schema_migrations | version | integer | true | 
schema_migrations | name | text | true | 
schema_migrations | applied_at | timestamp with time zone | true | now()
workers | id | text | true | 
workers | host | text | true | 
workers | pid | integer | true | 
workers | queues | text[] | false | 
workers | concurrency | integer | true | 
workers | running | integer | true | 0
workers | started_at | timestamp with time zone | true | <schema>.nightshift_now()
workers | heartbeat_at | timestamp with time zone | true | <schema>.nightshift_now()
workers | labels | text[] | false | 
workers | tasks | text[] | false | 
workers | stale_ms | integer | true | 30000

-- constraints
api_tokens | api_tokens_pkey | PRIMARY KEY (id)
api_tokens | api_tokens_role_check | CHECK ((role = ANY (ARRAY['viewer'::text, 'operator'::text, 'admin'::text])))
concurrency_keys | concurrency_keys_pkey | PRIMARY KEY (key)
job_dead | job_dead_pkey | PRIMARY KEY (id)
job_group_cursors | job_group_cursors_pkey | PRIMARY KEY (queue_set)
job_groups | job_groups_pkey | PRIMARY KEY (group_key)
job_leases | job_leases_pkey | PRIMARY KEY (token)
job_logs | job_logs_level_check | CHECK ((level = ANY (ARRAY['info'::text, 'warn'::text])))
job_runs | job_runs_outcome_check | CHECK ((outcome = ANY (ARRAY['completed'::text, 'failed'::text, 'timeout'::text, 'lease_lapsed'::text, 'released'::text, 'cancelled'::text])))
job_steps | job_steps_pkey | PRIMARY KEY (job_id, name)
jobs | jobs_pkey | PRIMARY KEY (id)
paused_queues | paused_queues_pkey | PRIMARY KEY (queue)
queue_limits | queue_limits_pkey | PRIMARY KEY (queue)
schedule_slots | schedule_slots_kind_check | CHECK ((kind = ANY (ARRAY['slot'::text, 'catch_up'::text, 'drain'::text, 'trigger'::text])))
schedule_slots | schedule_slots_pkey | PRIMARY KEY (schedule_id, slot_key)
schedule_slots | schedule_slots_schedule_id_fkey | FOREIGN KEY (schedule_id) REFERENCES <schema>.schedules(id) ON DELETE CASCADE
schedule_slots | schedule_slots_status_check | CHECK ((status = ANY (ARRAY['enqueued'::text, 'skipped'::text, 'missed'::text, 'waiting'::text])))
schedules | schedules_catch_up_check | CHECK ((catch_up = ANY (ARRAY['skip'::text, 'latest'::text, 'all'::text])))
schedules | schedules_check | CHECK (((cron IS NULL) <> (every_ms IS NULL)))
schedules | schedules_overlap_check | CHECK ((overlap = ANY (ARRAY['skip'::text, 'queue'::text, 'allow'::text])))
schedules | schedules_pkey | PRIMARY KEY (id)
schedules | schedules_source_check | CHECK ((source = ANY (ARRAY['config'::text, 'api'::text])))
schema_migrations | schema_migrations_pkey | PRIMARY KEY (version)
workers | workers_pkey | PRIMARY KEY (id)

-- indexes
api_tokens_hash_idx | CREATE UNIQUE INDEX api_tokens_hash_idx ON <schema>.api_tokens USING btree (hash)
api_tokens_pkey | CREATE UNIQUE INDEX api_tokens_pkey ON <schema>.api_tokens USING btree (id)
concurrency_keys_pkey | CREATE UNIQUE INDEX concurrency_keys_pkey ON <schema>.concurrency_keys USING btree (key)
concurrency_keys_rated_idx | CREATE INDEX concurrency_keys_rated_idx ON <schema>.concurrency_keys USING btree (key) WHERE (rate_limit IS NOT NULL)
events_order_idx | CREATE INDEX events_order_idx ON <schema>.events USING btree (tx, id)
job_dead_pkey | CREATE UNIQUE INDEX job_dead_pkey ON <schema>.job_dead USING btree (id)
job_finish_log_time_idx | CREATE INDEX job_finish_log_time_idx ON <schema>.job_finish_log USING btree (finished_at)
job_group_cursors_pkey | CREATE UNIQUE INDEX job_group_cursors_pkey ON <schema>.job_group_cursors USING btree (queue_set)
job_groups_pkey | CREATE UNIQUE INDEX job_groups_pkey ON <schema>.job_groups USING btree (group_key)
job_leases_expiry_idx | CREATE INDEX job_leases_expiry_idx ON <schema>.job_leases USING btree (expires_at)
job_leases_pkey | CREATE UNIQUE INDEX job_leases_pkey ON <schema>.job_leases USING btree (token)
job_logs_job_idx | CREATE INDEX job_logs_job_idx ON <schema>.job_logs USING btree (job_id, attempt, at, seq)
job_queue_ready_group_idx | CREATE INDEX job_queue_ready_group_idx ON <schema>.job_queue USING btree (queue COLLATE "C", group_key, priority DESC, run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (group_key IS NOT NULL) AND (requires IS NULL))
job_queue_ready_group_labels_idx | CREATE INDEX job_queue_ready_group_labels_idx ON <schema>.job_queue USING btree (requires, queue COLLATE "C", group_key, priority DESC, run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (group_key IS NOT NULL) AND (requires IS NOT NULL))
job_queue_ready_idx | CREATE INDEX job_queue_ready_idx ON <schema>.job_queue USING btree (priority DESC, run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (requires IS NULL) AND (group_key IS NULL))
job_queue_ready_labels_idx | CREATE INDEX job_queue_ready_labels_idx ON <schema>.job_queue USING btree (requires, priority DESC, run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (requires IS NOT NULL) AND (group_key IS NULL))
job_queue_ready_labels_queue_idx | CREATE INDEX job_queue_ready_labels_queue_idx ON <schema>.job_queue USING btree (queue, requires, ((- (priority)::bigint)), run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (requires IS NOT NULL) AND (group_key IS NULL))
job_queue_ready_queue_idx | CREATE INDEX job_queue_ready_queue_idx ON <schema>.job_queue USING btree (queue, ((- (priority)::bigint)), run_at, id) WHERE ((state = 'queued'::<schema>.job_state) AND (requires IS NULL) AND (group_key IS NULL))
job_queue_scheduled_idx | CREATE INDEX job_queue_scheduled_idx ON <schema>.job_queue USING btree (run_at, id) WHERE (state = 'scheduled'::<schema>.job_state)
job_queue_scheduled_queue_idx | CREATE INDEX job_queue_scheduled_queue_idx ON <schema>.job_queue USING btree (queue, run_at, id) WHERE (state = 'scheduled'::<schema>.job_state)
job_runs_finished_idx | CREATE INDEX job_runs_finished_idx ON <schema>.job_runs USING btree (finished_at)
job_runs_job_idx | CREATE INDEX job_runs_job_idx ON <schema>.job_runs USING btree (job_id, attempt)
job_steps_pkey | CREATE UNIQUE INDEX job_steps_pkey ON <schema>.job_steps USING btree (job_id, name)
jobs_idempotency_key_idx | CREATE UNIQUE INDEX jobs_idempotency_key_idx ON <schema>.jobs USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)
jobs_pkey | CREATE UNIQUE INDEX jobs_pkey ON <schema>.jobs USING btree (id)
paused_queues_pkey | CREATE UNIQUE INDEX paused_queues_pkey ON <schema>.paused_queues USING btree (queue)
queue_limits_pkey | CREATE UNIQUE INDEX queue_limits_pkey ON <schema>.queue_limits USING btree (queue)
schedule_slots_open_idx | CREATE INDEX schedule_slots_open_idx ON <schema>.schedule_slots USING btree (schedule_id) WHERE ((status = 'enqueued'::text) AND (outcome IS NULL))
schedule_slots_pkey | CREATE UNIQUE INDEX schedule_slots_pkey ON <schema>.schedule_slots USING btree (schedule_id, slot_key)
schedule_slots_recent_idx | CREATE INDEX schedule_slots_recent_idx ON <schema>.schedule_slots USING btree (schedule_id, slot_at DESC)
schedule_slots_recorded_idx | CREATE INDEX schedule_slots_recorded_idx ON <schema>.schedule_slots USING btree (recorded_at)
schedule_slots_waiting_idx | CREATE INDEX schedule_slots_waiting_idx ON <schema>.schedule_slots USING btree (schedule_id, slot_at) WHERE (status = 'waiting'::text)
schedules_due_idx | CREATE INDEX schedules_due_idx ON <schema>.schedules USING btree (next_slot_at) WHERE ((NOT paused) AND (suspended_at IS NULL))
schedules_id_prefix_idx | CREATE INDEX schedules_id_prefix_idx ON <schema>.schedules USING btree (id text_pattern_ops)
schedules_pkey | CREATE UNIQUE INDEX schedules_pkey ON <schema>.schedules USING btree (id)
schema_migrations_pkey | CREATE UNIQUE INDEX schema_migrations_pkey ON <schema>.schema_migrations USING btree (version)
workers_pkey | CREATE UNIQUE INDEX workers_pkey ON <schema>.workers USING btree (id)

-- functions
job_dead_track | CREATE OR REPLACE FUNCTION <schema>.job_dead_track()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO '<schema>'
AS $function$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE job_dead;
  ELSIF TG_OP = 'DELETE' OR NEW.state NOT IN ('failed', 'cancelled') THEN
    DELETE FROM job_dead WHERE id = OLD.id;
  ELSE
    INSERT INTO job_dead (id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $function$

nightshift_next_requirement_set | CREATE OR REPLACE FUNCTION <schema>.nightshift_next_requirement_set(after text[], grouped boolean)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
 SET enable_sort TO 'off'
 SET search_path TO '<schema>'
AS $function$
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
$function$

nightshift_now | CREATE OR REPLACE FUNCTION <schema>.nightshift_now()
 RETURNS timestamp with time zone
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$SELECT pg_catalog.now()$function$


-- triggers
job_dead_delete | CREATE TRIGGER job_dead_delete AFTER DELETE ON <schema>.jobs FOR EACH ROW WHEN ((old.state = ANY (ARRAY['failed'::<schema>.job_state, 'cancelled'::<schema>.job_state]))) EXECUTE FUNCTION <schema>.job_dead_track()
job_dead_truncate | CREATE TRIGGER job_dead_truncate AFTER TRUNCATE ON <schema>.jobs FOR EACH STATEMENT EXECUTE FUNCTION <schema>.job_dead_track()
job_dead_update | CREATE TRIGGER job_dead_update AFTER UPDATE OF state ON <schema>.jobs FOR EACH ROW WHEN (((old.state = ANY (ARRAY['failed'::<schema>.job_state, 'cancelled'::<schema>.job_state])) <> (new.state = ANY (ARRAY['failed'::<schema>.job_state, 'cancelled'::<schema>.job_state])))) EXECUTE FUNCTION <schema>.job_dead_track()
