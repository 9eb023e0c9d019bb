/**
 * What `nightshift top` shows, read from the database directly (no API server needed): job counts
 * per queue and state, throughput since the previous snapshot, the running jobs, the stuck ones
 * (a running job whose lease expired, or that runs past its task's `maxDurationMs`), and schedules
 * that are failing or suspended. `--json` prints one snapshot as it is.
 *
 * Cost per refresh: `jobCountByQueue` reads the whole jobs table (a full scan, as for metrics), the
 * running jobs come from the lease rows (PostgreSQL) or the running rows, and one page of schedules.
 * On a very large table, refresh less often (`--interval`).
 *
 * Seam for the queue registry (being built as `ns.queues`): the store offers no oldest-ready age and
 * no pause flag yet, so `oldestReadyAgeMs` and `paused` are null; `queueCounts` is where they will be
 * read from it, and the frame and the JSON already carry them.
 */
import { JOB_STATES, type Job, type JobState } from '../../job.js';
import type { Schedule } from '../../scheduler/schedule.js';
import type { Store } from '../../store/store.js';

/** Running jobs read per snapshot; more are counted, not listed. */
export const MAX_RUNNING_LISTED = 500;
/** Schedules read per snapshot to find failing and suspended ones. */
export const MAX_SCHEDULES_READ = 1_000;

/** One queue's line. */
export interface TopQueue {
  name: string;
  counts: Record<JobState, number>;
  /** Age of the oldest job ready to run, or null where the store cannot tell (see the module header). */
  oldestReadyAgeMs: number | null;
  /** Whether the queue is paused, or null where the store cannot tell. */
  paused: boolean | null;
  /** Jobs that completed (failed) per second since the previous snapshot; null on the first. */
  completedPerSec: number | null;
  failedPerSec: number | null;
}

/** A running job. */
export interface TopRunningJob {
  id: string;
  task: string;
  queue: string;
  workerId: string | null;
  attempt: number;
  runningForMs: number;
}

/** A running job that looks stuck, and why. */
export interface TopStuckJob extends TopRunningJob {
  reason: 'lease_expired' | 'max_duration';
}

/** A schedule that needs an operator. */
export interface TopSchedule {
  id: string;
  task: string;
  condition: 'failing' | 'suspended';
  consecutiveFailures: number;
  lastError: string | null;
  suspendedReason: string | null;
}

/** Everything one frame shows. */
export interface TopSnapshot {
  /** The database's clock when the snapshot was read. */
  at: string;
  queues: TopQueue[];
  running: TopRunningJob[];
  /** All running jobs, when more than the listed ones. */
  runningTotal: number;
  stuck: TopStuckJob[];
  schedules: TopSchedule[];
}

/** What reading a snapshot needs besides the store. */
export interface SnapshotOptions {
  /** Each task's max duration (from the config's tasks), for stuck detection. */
  maxDurationMs: ReadonlyMap<string, number>;
  /** The previous snapshot, for rates. */
  previous?: TopSnapshot | undefined;
}

/** Reads one snapshot. */
export async function readTopSnapshot(store: Store, options: SnapshotOptions): Promise<TopSnapshot> {
  const [now, counts, running, schedules] = await Promise.all([
    store.now(),
    store.jobCountByQueue(),
    store.jobList({ state: 'running', limit: MAX_RUNNING_LISTED }),
    store.scheduleList({ limit: MAX_SCHEDULES_READ }),
  ]);
  const at = now.getTime();
  const queues = queueCounts(counts);
  const runningJobs = running.jobs
    .map((job) => runningJob(job, at))
    .sort((a, b) => b.runningForMs - a.runningForMs);
  const snapshot: TopSnapshot = {
    at: now.toISOString(),
    queues,
    running: runningJobs,
    runningTotal: queues.reduce((sum, queue) => sum + queue.counts.running, 0),
    stuck: running.jobs.flatMap((job) => stuckJob(job, at, options.maxDurationMs)),
    schedules: schedules.flatMap(scheduleNeedingAttention),
  };
  if (options.previous) addRates(snapshot, options.previous);
  return snapshot;
}

function queueCounts(rows: Array<{ queue: string; state: JobState; count: number }>): TopQueue[] {
  const byName = new Map<string, TopQueue>();
  for (const row of rows) {
    let queue = byName.get(row.queue);
    if (!queue) {
      const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
      queue = {
        name: row.queue,
        counts,
        oldestReadyAgeMs: null,
        paused: null,
        completedPerSec: null,
        failedPerSec: null,
      };
      byName.set(row.queue, queue);
    }
    queue.counts[row.state] += row.count;
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function runningJob(job: Job, now: number): TopRunningJob {
  return {
    id: job.id,
    task: job.task,
    queue: job.queue,
    workerId: job.workerId,
    attempt: job.attempt,
    runningForMs: job.startedAt === null ? 0 : Math.max(0, now - job.startedAt.getTime()),
  };
}

function stuckJob(job: Job, now: number, maxDurationMs: ReadonlyMap<string, number>): TopStuckJob[] {
  const running = runningJob(job, now);
  if (job.leaseExpiresAt !== null && job.leaseExpiresAt.getTime() < now)
    return [{ ...running, reason: 'lease_expired' }];
  const limit = maxDurationMs.get(job.task);
  if (limit !== undefined && running.runningForMs > limit) return [{ ...running, reason: 'max_duration' }];
  return [];
}

function scheduleNeedingAttention(schedule: Schedule): TopSchedule[] {
  const suspended = schedule.suspendedAt !== null;
  if (!suspended && schedule.consecutiveFailures === 0) return [];
  return [
    {
      id: schedule.id,
      task: schedule.task,
      condition: suspended ? 'suspended' : 'failing',
      consecutiveFailures: schedule.consecutiveFailures,
      lastError: schedule.lastError?.message ?? null,
      suspendedReason: schedule.suspendedReason,
    },
  ];
}

/** Completed and failed jobs per second since `previous`; counts that shrank (retention) give 0. */
function addRates(snapshot: TopSnapshot, previous: TopSnapshot): void {
  const seconds = (Date.parse(snapshot.at) - Date.parse(previous.at)) / 1000;
  if (seconds <= 0) return;
  const before = new Map(previous.queues.map((queue) => [queue.name, queue.counts]));
  for (const queue of snapshot.queues) {
    const old = before.get(queue.name);
    const rate = (state: JobState): number =>
      Math.max(0, queue.counts[state] - (old?.[state] ?? 0)) / seconds;
    queue.completedPerSec = rate('completed');
    queue.failedPerSec = rate('failed');
  }
}
