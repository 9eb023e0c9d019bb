/**
 * The torture run's own view of the database, outside the store: it installs triggers that record
 * every job state change (and every re-claim) in `torture_transitions` in the same transaction as the
 * change, the `torture_effects` table the transactional task writes, and reads the final state the
 * checker judges. Test code only: the product never reads these tables.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

/** What the checker reads from the database after a run. */
export interface FinalState {
  jobs: Array<{
    id: string;
    task: string;
    state: string;
    attempt: number;
    idempotencyKey: string | null;
    concurrencyKey: string | null;
    result: unknown;
  }>;
  runs: Array<{ jobId: string; attempt: number; outcome: string }>;
  /** Every state change and re-claim, in commit order per job (`from` null: the insert). */
  transitions: Array<{ seq: number; jobId: string; from: string | null; to: string; attempt: number }>;
  effects: Array<{ jobId: string; attempt: number }>;
  slots: Array<{ scheduleId: string; slotKey: string; status: string; jobId: string | null }>;
  /** Slots each concurrency key and each limited queue counts as taken. */
  slotCounts: Array<{ kind: 'key' | 'queue'; name: string; inUse: number }>;
}

/** Jobs not yet final: `due` are queued or scheduled and due now, `running` hold a lease. */
export interface Progress {
  due: number;
  running: number;
  waiting: number;
}

/** Direct access of the driver to the run's database. */
export interface TortureDatabase {
  install(): Promise<void>;
  progress(): Promise<Progress>;
  read(): Promise<FinalState>;
  close(): Promise<void>;
}

const STATES = `('scheduled', 'queued', 'running')`;

/** The SQLite file's view (a connection of its own). */
export function sqliteTortureDatabase(filename: string): TortureDatabase {
  const db = new Database(filename);
  db.pragma('busy_timeout = 10000');
  return {
    install() {
      db.exec(`
        CREATE TABLE torture_transitions (seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL, from_state TEXT,
                                          to_state TEXT NOT NULL, attempt INTEGER NOT NULL);
        CREATE TABLE torture_effects (job_id TEXT NOT NULL, attempt INTEGER NOT NULL);
        CREATE TRIGGER torture_job_insert AFTER INSERT ON jobs BEGIN
          INSERT INTO torture_transitions (job_id, from_state, to_state, attempt)
          VALUES (NEW.id, NULL, NEW.state, NEW.attempt);
        END;
        CREATE TRIGGER torture_job_update AFTER UPDATE ON jobs
        WHEN OLD.state IS NOT NEW.state OR (NEW.lease_token IS NOT NULL AND OLD.lease_token IS NOT NEW.lease_token)
        BEGIN
          INSERT INTO torture_transitions (job_id, from_state, to_state, attempt)
          VALUES (NEW.id, OLD.state, NEW.state, NEW.attempt);
        END;`);
      return Promise.resolve();
    },
    progress() {
      const row = db
        .prepare(
          `SELECT coalesce(sum(state = 'queued' OR (state = 'scheduled' AND run_at <= ?)), 0) AS due,
                  coalesce(sum(state = 'running'), 0) AS running,
                  coalesce(sum(state = 'scheduled' AND run_at > ?), 0) AS waiting
           FROM jobs WHERE state IN ${STATES}`,
        )
        .get(Date.now(), Date.now()) as Progress;
      return Promise.resolve(row);
    },
    read() {
      const jobs = db
        .prepare(
          'SELECT id, task, state, attempt, idempotency_key AS idempotencyKey, concurrency_key AS concurrencyKey, result FROM jobs',
        )
        .all() as Array<FinalState['jobs'][number] & { result: string | null }>;
      return Promise.resolve({
        jobs: jobs.map((job) => ({
          ...job,
          result: job.result === null ? undefined : (JSON.parse(job.result) as unknown),
        })),
        runs: db
          .prepare('SELECT job_id AS jobId, attempt, outcome FROM job_run_history')
          .all() as FinalState['runs'],
        transitions: db
          .prepare(
            'SELECT seq, job_id AS jobId, from_state AS "from", to_state AS "to", attempt FROM torture_transitions ORDER BY seq',
          )
          .all() as FinalState['transitions'],
        effects: db
          .prepare('SELECT job_id AS jobId, attempt FROM torture_effects')
          .all() as FinalState['effects'],
        slots: db
          .prepare(
            'SELECT schedule_id AS scheduleId, slot_key AS slotKey, status, job_id AS jobId FROM schedule_slots',
          )
          .all() as FinalState['slots'],
        slotCounts: db
          .prepare(
            `SELECT 'key' AS kind, key AS name, in_use AS inUse FROM concurrency_keys
             UNION ALL SELECT 'queue', queue, in_use FROM queue_limits`,
          )
          .all() as FinalState['slotCounts'],
      });
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

/** A PostgreSQL database's view; nightshift's tables in `schema`, the torture tables in `public`. */
export function postgresTortureDatabase(url: string, schema: string): TortureDatabase {
  const s = `"${schema}"`;
  const query = async <R extends pg.QueryResultRow>(sql: string): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(sql)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    async install() {
      await query(`
        CREATE TABLE public.torture_transitions (seq bigserial PRIMARY KEY, job_id text NOT NULL, from_state text,
                                                 to_state text NOT NULL, attempt integer NOT NULL);
        CREATE TABLE public.torture_effects (job_id text NOT NULL, attempt integer NOT NULL);
        CREATE FUNCTION public.torture_record() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO public.torture_transitions (job_id, from_state, to_state, attempt)
            VALUES (NEW.id::text, NULL, NEW.state::text, NEW.attempt);
          ELSIF OLD.state IS DISTINCT FROM NEW.state
             OR (NEW.lease_token IS NOT NULL AND OLD.lease_token IS DISTINCT FROM NEW.lease_token) THEN
            INSERT INTO public.torture_transitions (job_id, from_state, to_state, attempt)
            VALUES (NEW.id::text, OLD.state::text, NEW.state::text, NEW.attempt);
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER torture_record AFTER INSERT OR UPDATE ON ${s}.jobs
          FOR EACH ROW EXECUTE FUNCTION public.torture_record();`);
    },
    async progress() {
      const [row] = await query<{ due: string; running: string; waiting: string }>(
        `SELECT count(*) FILTER (WHERE state = 'queued' OR (state = 'scheduled' AND run_at <= now())) AS due,
                count(*) FILTER (WHERE state = 'running') AS running,
                count(*) FILTER (WHERE state = 'scheduled' AND run_at > now()) AS waiting
         FROM ${s}.jobs WHERE state IN ${STATES}`,
      );
      return {
        due: Number(row?.due ?? 0),
        running: Number(row?.running ?? 0),
        waiting: Number(row?.waiting ?? 0),
      };
    },
    async read() {
      const [jobs, runs, transitions, effects, slots, slotCounts] = await Promise.all([
        query<FinalState['jobs'][number]>(
          `SELECT id::text, task, state::text, attempt, idempotency_key AS "idempotencyKey",
                  concurrency_key AS "concurrencyKey", result FROM ${s}.jobs`,
        ),
        query<FinalState['runs'][number]>(
          `SELECT job_id::text AS "jobId", attempt, outcome FROM ${s}.job_run_history`,
        ),
        query<FinalState['transitions'][number] & { seq: string }>(
          `SELECT seq, job_id AS "jobId", from_state AS "from", to_state AS "to", attempt
           FROM public.torture_transitions ORDER BY seq`,
        ),
        query<FinalState['effects'][number]>('SELECT job_id AS "jobId", attempt FROM public.torture_effects'),
        query<FinalState['slots'][number]>(
          `SELECT schedule_id AS "scheduleId", slot_key AS "slotKey", status, job_id::text AS "jobId" FROM ${s}.schedule_slots`,
        ),
        query<FinalState['slotCounts'][number]>(
          `SELECT 'key' AS kind, key AS name, in_use AS "inUse" FROM ${s}.concurrency_keys
           UNION ALL SELECT 'queue', queue, in_use FROM ${s}.queue_limits`,
        ),
      ]);
      return {
        jobs: jobs.map((job) => ({ ...job, result: job.result === null ? undefined : job.result })),
        runs,
        transitions: transitions.map((row) => ({ ...row, seq: Number(row.seq) })),
        effects,
        slots,
        slotCounts,
      };
    },
    close: () => Promise.resolve(),
  };
}
