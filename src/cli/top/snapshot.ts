/**
 * What `nightshift top` shows, read through the library (no API server needed): each queue's counts,
 * oldest ready age and pause (`ns.queues.list()`), throughput since the previous snapshot, the live
 * workers (`ns.workers()`), the current alerts (`ns.alerts()`: their count per kind, and the running
 * jobs they call stuck or past their max duration), the running jobs, and schedules that are failing
 * or suspended. `--json` prints one snapshot as it is.
 *
 * Cost per refresh: the queue list reads the whole jobs table (a full scan, as for metrics), the
 * alerts their own bounded reads, then one page of running jobs and one of schedules. On a very large
 * table, refresh less often (`--interval`).
 */
import type { Job, JobState } from '../../job.js';
import type { Nightshift } from '../../nightshift.js';
import { ALERT_KINDS, type Alert, type AlertKind } from '../../observe/alert.js';
import type { Schedule } from '../../schedule-types.js';
import type { QueueInfo, WorkerInfo } from '../../store/store.js';

/** What a snapshot is read from: a connected instance (its config's tasks judge max durations). */
export type TopSource = Pick<Nightshift, 'store' | 'queues' | 'workers' | 'alerts'>;

/** Running jobs read per snapshot; more are counted, not listed. */
export const MAX_RUNNING_LISTED = 500;
/** Schedules read per snapshot to find failing and suspended ones. */
export const MAX_SCHEDULES_READ = 1_000;

/** One queue's line: `ns.queues.list()`'s queue and its rates. */
export interface TopQueue extends QueueInfo {
  /** Jobs that completed (failed) per second since the previous snapshot; null on the first. */
  completedPerSec: number | null;
  failedPerSec: number | null;
}

/** A live worker (`ns.workers()`), its times as ISO strings, its heartbeat's age on the database clock. */
export interface TopWorker extends Omit<WorkerInfo, 'startedAt' | 'heartbeatAt'> {
  startedAt: string;
  heartbeatAt: string;
  heartbeatAgeMs: number;
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

/**
 * A running job that an alert calls stuck, and why: `lease_expired` for a `stuck_job` alert (its lease
 * ended longer ago than `alerts.stuckJobGraceMs` and no rescuer recovered it), `max_duration` for a
 * `max_duration` alert.
 */
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
  workers: TopWorker[];
  /** The current alerts (`ns.alerts()`), ordered by kind, then subject. */
  alerts: Alert[];
  running: TopRunningJob[];
  /** All running jobs, when more than the listed ones. */
  runningTotal: number;
  stuck: TopStuckJob[];
  schedules: TopSchedule[];
}

/** What reading a snapshot needs besides its source. */
export interface SnapshotOptions {
  /** The previous snapshot, for rates. */
  previous?: TopSnapshot | undefined;
}

/** Reads one snapshot. */
export async function readTopSnapshot(ns: TopSource, options: SnapshotOptions = {}): Promise<TopSnapshot> {
  const [now, queues, workers, alerts, running, schedules] = await Promise.all([
    ns.store.now(),
    ns.queues.list(),
    ns.workers(),
    ns.alerts(),
    ns.store.jobList({ state: 'running', limit: MAX_RUNNING_LISTED }),
    ns.store.scheduleList({ limit: MAX_SCHEDULES_READ }),
  ]);
  const at = now.getTime();
  const snapshot: TopSnapshot = {
    at: now.toISOString(),
    queues: queues.map((queue) => ({ ...queue, completedPerSec: null, failedPerSec: null })),
    workers: workers.map((worker) => topWorker(worker, at)),
    alerts,
    running: running.jobs.map((job) => runningJob(job, at)).sort((a, b) => b.runningForMs - a.runningForMs),
    runningTotal: queues.reduce((sum, queue) => sum + queue.counts.running, 0),
    stuck: await stuckJobs(ns, alerts, running.jobs, at),
    schedules: schedules.flatMap(scheduleNeedingAttention),
  };
  if (options.previous) addRates(snapshot, options.previous);
  return snapshot;
}

/** How many alerts of each kind hold, in `ALERT_KINDS` order; kinds with none are left out. */
export function alertCounts(alerts: readonly Alert[]): Array<{ kind: AlertKind; count: number }> {
  return ALERT_KINDS.map((kind) => ({
    kind,
    count: alerts.filter((alert) => alert.kind === kind).length,
  })).filter((entry) => entry.count > 0);
}

function topWorker(worker: WorkerInfo, now: number): TopWorker {
  return {
    ...worker,
    startedAt: worker.startedAt.toISOString(),
    heartbeatAt: worker.heartbeatAt.toISOString(),
    heartbeatAgeMs: Math.max(0, now - worker.heartbeatAt.getTime()),
  };
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

/**
 * The jobs of the `stuck_job` and `max_duration` alerts, once each (a lapsed lease, the more urgent, wins),
 * longest running first. The alerts decide what is stuck; a job beyond the listed running ones is read
 * by id, and one that ended since is left out.
 */
async function stuckJobs(
  ns: TopSource,
  alerts: readonly Alert[],
  listed: readonly Job[],
  now: number,
): Promise<TopStuckJob[]> {
  const byId = new Map(listed.map((job) => [job.id, job]));
  const stuck = new Map<string, TopStuckJob>();
  for (const alert of alerts) {
    if ((alert.kind !== 'stuck_job' && alert.kind !== 'max_duration') || alert.jobId === undefined) continue;
    const reason = alert.kind === 'stuck_job' ? 'lease_expired' : 'max_duration';
    if (stuck.get(alert.jobId)?.reason === 'lease_expired') continue;
    const job = byId.get(alert.jobId) ?? (await ns.store.jobGet({ id: alert.jobId }));
    if (job === undefined || job.state !== 'running') continue;
    stuck.set(job.id, { ...runningJob(job, now), reason });
  }
  return [...stuck.values()].sort((a, b) => b.runningForMs - a.runningForMs);
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

/**
 * Completed and failed jobs per second between the finished counts of `previous` and these; counts
 * that shrank (retention) give 0. The counts of a long history are reused for a while
 * (`finishedCountsAgeMs`): each is dated when it was read, and a reused one keeps the rates of the
 * snapshot before, which would otherwise read 0 until the next count and then a burst.
 */
export function addRates(snapshot: TopSnapshot, previous: TopSnapshot): void {
  const countedAt = (at: string, queue: TopQueue): number => Date.parse(at) - queue.finishedCountsAgeMs;
  const before = new Map(previous.queues.map((queue) => [queue.name, queue]));
  for (const queue of snapshot.queues) {
    const old = before.get(queue.name);
    if (queue.finishedCountsAgeMs > 0 && old !== undefined) {
      queue.completedPerSec = old.completedPerSec;
      queue.failedPerSec = old.failedPerSec;
      continue;
    }
    // A queue new since the previous snapshot counted from zero then.
    const seconds =
      (countedAt(snapshot.at, queue) -
        (old === undefined ? Date.parse(previous.at) : countedAt(previous.at, old))) /
      1000;
    if (seconds <= 0) continue;
    const rate = (state: JobState): number =>
      Math.max(0, queue.counts[state] - (old?.counts[state] ?? 0)) / seconds;
    queue.completedPerSec = rate('completed');
    queue.failedPerSec = rate('failed');
  }
}
