/**
 * Prometheus metrics of a Nightshift instance, as a prom-client Registry (`ns.metrics()`, or
 * `createMetrics` for an app that serves them itself; the API server serves them at `GET /metrics`).
 *
 * Two sources, on purpose:
 * - counters and histograms count what THIS process did, from its own events (enqueues, attempts of
 *   its workers, slots of its scheduler), from the moment the registry was made; Prometheus sums them
 *   over processes;
 * - gauges about the cluster (jobs per queue and state, the oldest ready job, ready jobs held back per
 *   reason, alerts, PostgreSQL's health) are read from the database at scrape time, so every process reports the same values.
 *   One scrape makes one set of reads (shared by those gauges), each bounded by an index.
 * docs/METRICS.md lists every metric and label.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from '../events.js';
import type { DatabaseHealth, QueueLoad, QueueThrottle, Store } from '../store/store.js';
import { DEFAULT_WORKER_STALE_MS } from '../worker/options.js';
import type { TaskRegistry } from '../task-registry.js';
import { ALERT_KINDS, type Alert, type AlertsConfig } from './alert.js';
import { computeAlerts } from './alerts.js';

/** What the metrics read: a Nightshift instance has all of it. */
export interface MetricsSource {
  readonly events: EventBus;
  readonly store: Store;
  /** Tasks whose `maxDurationMs` the `max_duration` alerts judge. */
  readonly tasks: TaskRegistry;
  readonly alertsConfig: AlertsConfig;
  /** Slots of this process's running workers. */
  workerSlots(): { busy: number; idle: number };
}

// Seconds. Jobs last from a millisecond to hours; waits from nothing to a backlog's worth.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** What one scrape reads from the database. */
interface ClusterReading {
  now: number;
  load: QueueLoad[];
  throttled: QueueThrottle[];
  alerts: Alert[];
  health: DatabaseHealth | null;
}

/** Builds the registry and starts counting this instance's events. */
export function createMetrics(source: MetricsSource): Registry {
  const registry = new Registry();
  const registers = [registry];
  countEvents(source.events, registers);

  // prom-client collects every metric of a scrape at once; they share one reading of the database.
  let reading: Promise<ClusterReading> | null = null;
  const read = (): Promise<ClusterReading> => {
    reading ??= readCluster(source).finally(() => {
      reading = null;
    });
    return reading;
  };

  // Series of a queue seen once stay, at zero, so a drained queue reads 0 rather than vanishing.
  const seenStates = new Set<string>();
  const seenQueues = new Set<string>();
  new Gauge({
    name: 'nightshift_queue_jobs',
    help: 'Jobs waiting (scheduled, queued) or running per queue, read from the database at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      const { load } = await read();
      this.reset();
      for (const key of seenStates) {
        const [queue = '', state = ''] = JSON.parse(key) as string[];
        this.set({ queue, state }, 0);
      }
      for (const row of load) {
        seenStates.add(JSON.stringify([row.queue, row.state]));
        this.set({ queue: row.queue, state: row.state }, row.count);
      }
    },
  });
  new Gauge({
    name: 'nightshift_queue_oldest_ready_age_seconds',
    help: 'How long the oldest due, unclaimed job of each queue has waited; 0 when none waits.',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      const { load, now } = await read();
      this.reset();
      const oldest = new Map<string, number>();
      for (const row of load) {
        seenQueues.add(row.queue);
        if (row.oldestReadyAt === null) continue;
        const at = row.oldestReadyAt.getTime();
        oldest.set(row.queue, Math.min(at, oldest.get(row.queue) ?? at));
      }
      for (const queue of seenQueues) {
        const at = oldest.get(queue);
        this.set({ queue }, at === undefined ? 0 : Math.max(0, now - at) / 1000);
      }
    },
  });
  // Series of a (queue, reason) seen once stay, at zero, like the queue gauges above.
  const seenThrottles = new Set<string>();
  new Gauge({
    name: 'nightshift_queue_throttled_jobs',
    help: 'Ready jobs that cannot start now, per queue and reason (paused, unserved, queue_limit, queue_rate, labels, key_limit, key_rate), read from the database at scrape time.',
    labelNames: ['queue', 'reason'] as const,
    registers,
    async collect() {
      const { throttled } = await read();
      this.reset();
      for (const key of seenThrottles) {
        const [queue = '', reason = ''] = JSON.parse(key) as string[];
        this.set({ queue, reason }, 0);
      }
      for (const row of throttled) {
        seenThrottles.add(JSON.stringify([row.queue, row.reason]));
        this.set({ queue: row.queue, reason: row.reason }, row.count);
      }
    },
  });
  new Gauge({
    name: 'nightshift_alerts',
    help: 'Current alerts per kind, computed from the database at scrape time.',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const { alerts } = await read();
      this.reset();
      for (const kind of ALERT_KINDS) this.set({ kind }, alerts.filter((a) => a.kind === kind).length);
    },
  });
  new Gauge({
    name: 'nightshift_worker_slots',
    help: "Slots of this process's workers: busy (running a handler) or idle.",
    labelNames: ['state'] as const,
    registers,
    collect() {
      const { busy, idle } = source.workerSlots();
      this.set({ state: 'busy' }, busy);
      this.set({ state: 'idle' }, idle);
    },
  });
  if (source.store.dialect === 'postgres') {
    new Gauge({
      name: 'nightshift_pg_dead_tuples',
      help: "Dead row versions per table of nightshift's schema (pg_stat_user_tables.n_dead_tup).",
      labelNames: ['table'] as const,
      registers,
      async collect() {
        const { health } = await read();
        this.reset();
        if (health?.dialect !== 'postgres') return;
        for (const { table, deadRows } of health.tables) this.set({ table }, deadRows);
      },
    });
    new Gauge({
      name: 'nightshift_pg_oldest_transaction_age_seconds',
      help: 'Age of the oldest open transaction in the database (it holds back vacuum); 0 when none.',
      registers,
      async collect() {
        const { health } = await read();
        this.set(health?.dialect === 'postgres' ? (health.oldestTransaction?.ageMs ?? 0) / 1000 : 0);
      },
    });
  }
  return registry;
}

async function readCluster(source: MetricsSource): Promise<ClusterReading> {
  const { store } = source;
  // One read of the backlog for the load, the throttled counts and the alerts; labels are judged
  // against the workers `ns.workers()` lists as live.
  const { load, throttled } = await store.queueBacklog({ workerStaleMs: DEFAULT_WORKER_STALE_MS });
  const [now, { alerts }, health] = await Promise.all([
    store.now(),
    computeAlerts({ store, registry: source.tasks, config: source.alertsConfig, load }),
    store.dialect === 'postgres' ? store.databaseHealth() : null,
  ]);
  return { now: now.getTime(), load, throttled, alerts, health };
}

/** Counters and histograms fed by this process's events. */
function countEvents(events: EventBus, registers: Registry[]): void {
  const enqueued = new Counter({
    name: 'nightshift_jobs_enqueued_total',
    help: 'Jobs this process created (enqueue, enqueueMany, its scheduler’s slots).',
    labelNames: ['queue', 'task'] as const,
    registers,
  });
  const attempts = new Counter({
    name: 'nightshift_job_attempts_total',
    help: "Attempts this process's workers ended, by outcome (completed, failed, retried, timeout, cancelled, lease_lost).",
    labelNames: ['queue', 'task', 'outcome'] as const,
    registers,
  });
  const runSeconds = new Histogram({
    name: 'nightshift_job_run_duration_seconds',
    help: 'How long attempts ran, from claim to outcome, in this process.',
    labelNames: ['queue', 'task'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const waitSeconds = new Histogram({
    name: 'nightshift_job_wait_duration_seconds',
    help: 'How long jobs waited from due to claimed, for the attempts this process claimed.',
    labelNames: ['queue', 'task'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const slots = new Counter({
    name: 'nightshift_schedule_slots_total',
    help: "Slots this process's scheduler recorded, by outcome (enqueued, skipped, missed).",
    labelNames: ['schedule', 'outcome'] as const,
    registers,
  });
  const lag = new Histogram({
    name: 'nightshift_schedule_lag_seconds',
    help: "From a slot's time to its job's start, for the runs this process's scheduler settled.",
    buckets: LAG_BUCKETS,
    registers,
  });

  // Claim times (local clock) of attempts under way, for the run time of attempts that do not report it.
  const claimedAt = new Map<string, number>();
  // A timed-out attempt is reported as `job:timeout` and then `job:retry` or `job:failed`: one attempt,
  // counted once, as `timeout`.
  const timedOut = new Set<string>();
  const ended = (jobId: string, queue: string, task: string, outcome: string, durationMs?: number) => {
    const at = claimedAt.get(jobId);
    claimedAt.delete(jobId);
    attempts.inc({ queue, task, outcome });
    const ms = durationMs ?? (at === undefined ? undefined : Date.now() - at);
    if (ms !== undefined) runSeconds.observe({ queue, task }, ms / 1000);
  };

  events.on('job:enqueued', ({ queue, task }) => enqueued.inc({ queue, task }));
  events.on('job:claimed', ({ jobId, queue, task, runAt, startedAt }) => {
    claimedAt.set(jobId, Date.now());
    waitSeconds.observe({ queue, task }, Math.max(0, startedAt.getTime() - runAt.getTime()) / 1000);
  });
  events.on('job:completed', (e) => ended(e.jobId, e.queue, e.task, 'completed', e.durationMs));
  events.on('job:timeout', (e) => {
    timedOut.add(e.jobId);
    ended(e.jobId, e.queue, e.task, 'timeout');
  });
  for (const [event, outcome] of [
    ['job:retry', 'retried'],
    ['job:failed', 'failed'],
  ] as const) {
    events.on(event, (e) => {
      if (!timedOut.delete(e.jobId)) ended(e.jobId, e.queue, e.task, outcome);
    });
  }
  events.on('job:cancelled', (e) => ended(e.jobId, e.queue, e.task, 'cancelled'));
  events.on('job:lease_lost', (e) => ended(e.jobId, e.queue, e.task, 'lease_lost'));
  // Released jobs (graceful shutdown) give their attempt back: no outcome, just forget the claim.
  events.on('job:released', (e) => claimedAt.delete(e.jobId));
  events.on('schedule:slot', ({ scheduleId, status, slots: count }) => {
    if (status !== 'waiting') slots.inc({ schedule: scheduleId, outcome: status }, count);
  });
  events.on('schedule:settled', ({ runLagMs }) => {
    if (runLagMs !== null) lag.observe(runLagMs / 1000);
  });
}
