/**
 * The current alerts, computed from the database at each call (`ns.alerts()`, `GET /api/v1/alerts`, the
 * `nightshift_alerts` metric, the alert monitor), and when they would change with nothing written (the
 * dashboard reads them again then). Every read is bounded by an index: the running jobs, the suspended
 * schedules, the ledger rows of the window, the waiting jobs per queue; and the few rows of the live
 * workers and the paused queues.
 */
import type { FleetStore, ObserveStore, QueueLoad, ScheduleStore, WorkerInfo } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import { DEFAULT_WORKER_STALE_MS } from '../worker/options.js';
import {
  ALERT_KINDS,
  DEFAULT_MISSED_SLOTS_WINDOW_MS,
  DEFAULT_STUCK_JOB_GRACE_MS,
  DEFAULT_UNSERVED_GRACE_MS,
  type Alert,
  type AlertsConfig,
  type QueueAlertThresholds,
} from './alert.js';

/** Running jobs judged per call; far above any fleet's concurrency. */
const RUNNING_LIMIT = 10_000;
/** Suspended schedules listed per call. */
const SUSPENDED_LIMIT = 1_000;

/** What computing alerts needs. */
export interface AlertSources {
  store: ObserveStore &
    Pick<ScheduleStore, 'scheduleList'> &
    Pick<FleetStore, 'workerList' | 'queuePausedList'> & { now(): Promise<Date> };
  /** Tasks whose `maxDurationMs` this process knows; running jobs of other tasks are not judged on it. */
  registry: TaskRegistry;
  config: AlertsConfig;
  /** The queues' load when the caller has read it already (a metrics scrape reads it once for both). */
  load?: QueueLoad[];
}

/** The alerts that hold now, and when they would next change with nothing written. */
export interface AlertReading {
  /** Ordered by kind, then subject. */
  alerts: Alert[];
  /**
   * How long until an alert begins, ends or changes by the passing of time alone, in whole ms by the
   * store's clock (at least 1); null when none would. No event marks such a moment (a job running past
   * its `maxDurationMs`, a lease past its grace, a missed slot leaving the window, a queue's next job
   * coming due or its oldest ready job passing its age threshold), so a reader showing the alerts
   * reads them again after this long. A write before then (a lease renewed, a job claimed) may mean
   * nothing changed at that moment: the reading then gives the next one.
   */
  nextChangeInMs: number | null;
}

/** The alerts that hold now and when they would change next. */
export async function computeAlerts({
  store,
  registry,
  config,
  load: given,
}: AlertSources): Promise<AlertReading> {
  const [now, running, suspended, lapses, load, workers, paused] = await Promise.all([
    store.now(),
    store.jobRunningList({ limit: RUNNING_LIMIT }),
    store.scheduleList({ limit: SUSPENDED_LIMIT, condition: 'suspended' }),
    store.scheduleSlotLapseList({ windowMs: config.missedSlotsWindowMs ?? DEFAULT_MISSED_SLOTS_WINDOW_MS }),
    given ?? store.queueLoadList(),
    store.workerList({ staleMs: DEFAULT_WORKER_STALE_MS }),
    store.queuePausedList(),
  ]);
  const nowMs = now.getTime();
  const alerts: Alert[] = [];
  const grace = config.stuckJobGraceMs ?? DEFAULT_STUCK_JOB_GRACE_MS;
  // The soonest moment (store clock, ms) an alert begins, ends or changes with nothing written. Each
  // is the first whole ms at which the comparison below it turns: it must have turned when read then,
  // or a reader would read again and again to find the same moment.
  let nextChange: number | null = null;
  const changesAt = (at: number): void => {
    if (nextChange === null || at < nextChange) nextChange = at;
  };

  for (const job of running) {
    const base = { subject: `job:${job.id}`, jobId: job.id, queue: job.queue };
    const maxDurationMs = registry.get(job.task)?.maxDurationMs ?? null;
    const over = maxDurationMs === null ? null : job.startedAt.getTime() + maxDurationMs;
    if (over !== null && over >= nowMs) changesAt(over + 1);
    if (over !== null && over < nowMs) {
      alerts.push({
        kind: 'max_duration',
        ...base,
        message: `${job.task} job ${job.id} has run ${seconds(nowMs - job.startedAt.getTime())} s, past its maxDurationMs ${maxDurationMs}`,
        since: new Date(over).toISOString(),
      });
    }
    const lapsedMs = nowMs - job.leaseExpiresAt.getTime();
    // Unless a renewal moves the lease's end first (nothing tells of one but the next reading).
    if (lapsedMs <= grace) changesAt(job.leaseExpiresAt.getTime() + grace + 1);
    if (lapsedMs > grace) {
      alerts.push({
        kind: 'stuck_job',
        ...base,
        message: `${job.task} job ${job.id} is running, but its lease (worker ${job.workerId ?? 'unknown'}) ended ${seconds(lapsedMs)} s ago and no rescuer has recovered it`,
        since: job.leaseExpiresAt.toISOString(),
      });
    }
  }

  for (const schedule of suspended) {
    alerts.push({
      kind: 'schedule_suspended',
      subject: `schedule:${schedule.id}`,
      scheduleId: schedule.id,
      message: `schedule ${schedule.id} is suspended: ${schedule.suspendedReason ?? 'no reason recorded'}`,
      since: (schedule.suspendedAt ?? now).toISOString(),
    });
  }

  const window = config.missedSlotsWindowMs ?? DEFAULT_MISSED_SLOTS_WINDOW_MS;
  for (const lapse of lapses) {
    // Its earliest row leaves the window: the counts drop, or the alert ends. +1: a row recorded at
    // a fraction of a ms (PostgreSQL keeps microseconds) is out of the window by then.
    changesAt(lapse.since.getTime() + window + 1);
    alerts.push({
      kind: 'missed_slots',
      subject: `schedule:${lapse.scheduleId}`,
      scheduleId: lapse.scheduleId,
      message: `schedule ${lapse.scheduleId}: ${lapse.missed} slot(s) missed and ${lapse.skipped} skipped recently`,
      since: lapse.since.toISOString(),
    });
  }

  const queued = new Map<string, number>();
  const oldest = new Map<string, number>();
  const nextDue = new Map<string, number>();
  for (const row of load) {
    if (row.state === 'queued') queued.set(row.queue, row.count);
    if (row.oldestReadyAt !== null) {
      const at = row.oldestReadyAt.getTime();
      oldest.set(row.queue, Math.min(at, oldest.get(row.queue) ?? at));
    }
    if (row.nextDueAt !== null) nextDue.set(row.queue, row.nextDueAt.getTime());
  }
  // A job coming due counts as queued from then on, and is ready: its queue's depth grows, and it may
  // wait past the age threshold, with nothing written. +1: due by then on PostgreSQL's microseconds too.
  for (const [queue, due] of nextDue) {
    const { queueDepth, oldestReadyAgeMs } = thresholds(config, queue);
    if (queueDepth !== undefined) changesAt(due + 1);
    if (oldestReadyAgeMs !== undefined && !oldest.has(queue)) changesAt(due + oldestReadyAgeMs + 1);
  }
  for (const [queue, depth] of queued) {
    const limit = thresholds(config, queue).queueDepth;
    if (limit !== undefined && depth > limit) {
      alerts.push({
        kind: 'queue_depth',
        subject: `queue:${queue}`,
        queue,
        message: `queue ${queue} holds ${depth} queued jobs, over its threshold of ${limit}`,
        since: now.toISOString(),
      });
    }
  }
  for (const [queue, at] of oldest) {
    const limit = thresholds(config, queue).oldestReadyAgeMs;
    if (limit !== undefined && nowMs - at <= limit) changesAt(at + limit + 1);
    if (limit !== undefined && nowMs - at > limit) {
      alerts.push({
        kind: 'oldest_ready_age',
        subject: `queue:${queue}`,
        queue,
        message: `queue ${queue}: a job due ${seconds(nowMs - at)} s ago is still unclaimed (threshold ${seconds(limit)} s)`,
        since: new Date(at + limit).toISOString(),
      });
    }
  }
  unservedQueues({
    oldest,
    nextDue,
    workers,
    paused,
    grace: config.unservedGraceMs,
    nowMs,
    alerts,
    changesAt,
  });
  const rank = (alert: Alert): number => ALERT_KINDS.indexOf(alert.kind);
  alerts.sort((a, b) => rank(a) - rank(b) || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  return { alerts, nextChangeInMs: nextChange === null ? null : Math.max(1, nextChange - nowMs) };
}

/**
 * `unserved_queue`: an unpaused queue whose oldest ready job has waited past the grace while no live
 * worker claims from it. Such an alert begins with nothing written when that job passes the grace, or
 * (a queue whose next job is not due yet) that job comes due and then passes it, or when the last
 * live worker claiming from a waiting queue stops beating (killed: its heartbeat is the last write).
 */
function unservedQueues(p: {
  oldest: Map<string, number>;
  nextDue: Map<string, number>;
  workers: WorkerInfo[];
  paused: string[];
  grace: number | null | undefined;
  nowMs: number;
  alerts: Alert[];
  changesAt: (at: number) => void;
}): void {
  if (p.grace === null) return;
  const grace = p.grace ?? DEFAULT_UNSERVED_GRACE_MS;
  const paused = new Set(p.paused);
  const serving = (queue: string): WorkerInfo[] =>
    p.workers.filter((worker) => worker.queues === null || worker.queues.includes(queue));
  // Until which moment some live worker claims from the queue: its heartbeat plus the longer of the
  // readers' bound and its own, as the store judges it live (workerList).
  const servedUntil = (queue: string): number | null => {
    const ends = serving(queue).map(
      (worker) => worker.heartbeatAt.getTime() + Math.max(DEFAULT_WORKER_STALE_MS, worker.staleMs),
    );
    return ends.length === 0 ? null : Math.max(...ends);
  };
  // A queue with no ready job whose next scheduled one comes due: from then on it waits.
  for (const [queue, due] of p.nextDue) {
    if (!p.oldest.has(queue) && !paused.has(queue))
      p.changesAt(Math.max(servedUntil(queue) ?? -Infinity, due + grace) + 1);
  }
  const claimedFrom = [...new Set(p.workers.flatMap((worker) => worker.queues ?? []))].sort();
  for (const [queue, at] of p.oldest) {
    if (paused.has(queue)) continue;
    const over = at + grace;
    // Served now, or not yet past the grace: the alert would begin then, if nothing is written.
    const begins = Math.max(servedUntil(queue) ?? -Infinity, over);
    if (begins >= p.nowMs) {
      p.changesAt(begins + 1);
      continue;
    }
    const who =
      p.workers.length === 0
        ? 'no worker is running'
        : `the live workers claim from ${claimedFrom.join(', ')} only`;
    p.alerts.push({
      kind: 'unserved_queue',
      subject: `queue:${queue}`,
      queue,
      message: `queue ${queue}: a job due ${seconds(p.nowMs - at)} s ago waits and no live worker claims from this queue (${who})`,
      since: new Date(over).toISOString(),
    });
  }
}

/** A queue's thresholds: its own entry over the defaults, key by key. */
function thresholds(config: AlertsConfig, queue: string): QueueAlertThresholds {
  const own = Object.hasOwn(config.queues ?? {}, queue) ? config.queues?.[queue] : undefined;
  return { ...pick(config), ...pick(own ?? {}) };
}

function pick(entry: QueueAlertThresholds): QueueAlertThresholds {
  return {
    ...(entry.queueDepth !== undefined && { queueDepth: entry.queueDepth }),
    ...(entry.oldestReadyAgeMs !== undefined && { oldestReadyAgeMs: entry.oldestReadyAgeMs }),
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
