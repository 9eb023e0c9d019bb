/**
 * One `nightshift top` frame as lines of plain text, cut to the terminal: no line wider than `width`
 * (cut, never wrapped, so a redraw in place overwrites exactly what it drew) and no more lines than
 * `height` (the last says how many were left out). Sections in order of urgency: the alerts' count per
 * kind, queues, stuck jobs, schedules needing attention, workers, then running jobs, longest running
 * first.
 */
import { duration, renderTable, throttledCell } from '../output.js';
import { alertCounts, type TopSnapshot, type TopWorker } from './snapshot.js';

/** The size a frame must fit. */
export interface FrameSize {
  width: number;
  height: number;
}

/**
 * The frame's lines, each at most `size.width` characters, at most `size.height` of them. `intervalMs`
 * is the live screen's refresh, named in the header with the key that quits; null for a single frame
 * (`--once`, a pipe), which neither refreshes nor reads keys.
 */
export function renderFrame(snapshot: TopSnapshot, size: FrameSize, intervalMs: number | null): string[] {
  const workerName = workerNames(snapshot.workers);
  const at = `${snapshot.at.slice(0, 19).replace('T', ' ')}Z`;
  const lines: string[] = [
    intervalMs === null
      ? `nightshift top  ${at}`
      : `nightshift top  ${at}  every ${intervalMs} ms  (q to quit)`,
    alertsLine(snapshot),
    '',
  ];
  lines.push(
    ...table(
      [
        'QUEUE',
        'SCHEDULED',
        'QUEUED',
        'RUNNING',
        'COMPLETED',
        'FAILED',
        'CANCELLED',
        'OLDEST READY',
        'PAUSED',
        'DONE/S',
        'FAILED/S',
        'THROTTLED',
      ],
      snapshot.queues.map((queue) => [
        name(queue.name),
        queue.counts.scheduled,
        queue.counts.queued,
        queue.counts.running,
        queue.counts.completed,
        queue.counts.failed,
        queue.counts.cancelled,
        queue.oldestReadyAgeMs === null ? null : duration(queue.oldestReadyAgeMs),
        queue.paused ? 'yes' : 'no',
        rate(queue.completedPerSec),
        rate(queue.failedPerSec),
        throttledCell(queue.throttled),
      ]),
      'no jobs yet',
    ),
  );
  if (snapshot.stuck.length > 0) {
    lines.push('', `STUCK (${snapshot.stuck.length})`);
    lines.push(
      ...table(
        ['ID', 'TASK', 'QUEUE', 'WHY', 'RUNNING FOR', 'WORKER'],
        snapshot.stuck.map((job) => [
          job.id,
          name(job.task),
          name(job.queue),
          job.reason === 'lease_expired' ? 'lease expired' : 'past max duration',
          duration(job.runningForMs),
          name(workerName(job.workerId)),
        ]),
        '',
      ),
    );
  }
  if (snapshot.schedules.length > 0) {
    lines.push('', `SCHEDULES NEEDING ATTENTION (${snapshot.schedules.length})`);
    lines.push(
      ...table(
        ['ID', 'TASK', 'STATE', 'FAILURES', 'LAST ERROR'],
        snapshot.schedules.map((schedule) => [
          name(schedule.id),
          name(schedule.task),
          schedule.condition,
          schedule.consecutiveFailures,
          schedule.suspendedReason ?? schedule.lastError,
        ]),
        '',
      ),
    );
  }
  lines.push('', `WORKERS (${snapshot.workers.length})`);
  lines.push(
    ...table(
      ['ID', 'HOST', 'PID', 'QUEUES', 'LABELS', 'RUNNING', 'HEARTBEAT'],
      snapshot.workers.map((worker) => [
        name(shortWorkerId(worker)),
        name(worker.host),
        worker.pid,
        worker.queues === null ? 'all' : name(worker.queues.join(',')),
        worker.labels.length === 0 ? '-' : name(worker.labels.join(',')),
        `${worker.running}/${worker.concurrency}`,
        `${duration(worker.heartbeatAgeMs)} ago`,
      ]),
      'no live workers',
    ),
  );
  lines.push('', `RUNNING (${snapshot.runningTotal})`);
  lines.push(
    ...table(
      ['ID', 'TASK', 'QUEUE', 'WORKER', 'ATTEMPT', 'RUNNING FOR'],
      snapshot.running.map((job) => [
        job.id,
        name(job.task),
        name(job.queue),
        name(workerName(job.workerId)),
        job.attempt,
        duration(job.runningForMs),
      ]),
      'nothing running',
    ),
  );
  return fit(lines, size);
}

/** `ALERTS 3: max_duration 1, stuck_job 2`, or `ALERTS none`. */
function alertsLine(snapshot: TopSnapshot): string {
  if (snapshot.alerts.length === 0) return 'ALERTS none';
  const counts = alertCounts(snapshot.alerts).map(({ kind, count }) => `${kind} ${count}`);
  return `ALERTS ${snapshot.alerts.length}: ${counts.join(', ')}`;
}

/**
 * Names (queues, tasks, schedules, workers, hosts) may be 255 characters: one that long would push
 * every other column of its table past the terminal's edge. A longer one keeps its start and its end,
 * which tell similar names apart, around an ellipsis; `--json` has it whole.
 */
export const MAX_NAME_WIDTH = 32;

function name(text: string | null): string | null {
  if (text === null || text.length <= MAX_NAME_WIDTH) return text;
  const head = Math.ceil((MAX_NAME_WIDTH - 1) * 0.6);
  return `${text.slice(0, head)}…${text.slice(text.length - (MAX_NAME_WIDTH - 1 - head))}`;
}

/** A default worker id repeats its host and pid (shown beside it): only its unique tail is kept. */
function shortWorkerId(worker: TopWorker): string {
  const prefix = `${worker.host}:${worker.pid}:`;
  return worker.id.startsWith(prefix) ? worker.id.slice(prefix.length) : worker.id;
}

/**
 * A job's worker as its WORKERS row names it, so the two match at a glance; a worker with no row (gone,
 * no heartbeat for 30 s: a stuck job's, often) keeps its whole id, the only place its host and pid show.
 */
function workerNames(workers: TopWorker[]): (id: string | null) => string | null {
  const shown = new Map(workers.map((worker) => [worker.id, shortWorkerId(worker)]));
  return (id) => (id === null ? null : (shown.get(id) ?? id));
}

function table(headers: string[], rows: Array<Array<string | number | null>>, empty: string): string[] {
  if (rows.length === 0) return empty === '' ? [] : [empty];
  return renderTable(headers, rows).trimEnd().split('\n');
}

/** Cuts lines to the width and the list to the height; a cut list ends with how much was left out. */
function fit(lines: string[], size: FrameSize): string[] {
  const width = Math.max(1, size.width);
  const height = Math.max(1, size.height);
  let shown = lines;
  if (lines.length > height) {
    shown = lines.slice(0, height - 1);
    shown.push(`… ${lines.length - shown.length} more lines (a taller terminal shows them)`);
  }
  return shown.map((line) => (line.length > width ? line.slice(0, width) : line));
}

function rate(perSecond: number | null): string | null {
  if (perSecond === null) return null;
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}
