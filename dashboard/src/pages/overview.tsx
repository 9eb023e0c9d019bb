/**
 * Overview: every queue with its counts per state, oldest ready age and pause state; throughput,
 * failures and wait/run percentiles over the range the address names (`?range=6h`), by default Auto,
 * the shortest that holds the latest attempts (GET /stats); open alerts (GET /alerts).
 */
import { api, isUnavailable } from '../api.js';
import { useApp } from '../app-context.js';
import { soonestAfter } from '../due.js';
import { LineChart, type Series, type TimeAxis } from '../charts.js';
import { Outcome, Problem, useAction, useLoad, Link } from '../components.js';
import { duration, relative } from '../format.js';
import { useRedrawWhenChanged } from '../redraw.js';
import {
  hasAttempts,
  loadStats,
  RANGES,
  rangeChoiceOf,
  rangePath,
  type RangeChoice,
  type StatsRead,
} from '../stats-range.js';
import { JOB_STATES, type Alert, type AlertReading, type Queue, type StatsBucket } from '../types.js';
import { schedulePath } from './schedules.js';

export function OverviewPage(props: { search: string }) {
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Alerts />
      <Queues />
      <Stats choice={rangeChoiceOf(props.search)} />
      <Activity />
    </section>
  );
}

function Queues() {
  const { canOperate } = useApp();
  const queues = useLoad(
    async () => ({ ...(await api<{ queues: Queue[] }>('GET', '/queues')), readAt: Date.now() }),
    [],
    countsChangeAt,
  );
  const action = useAction();
  const toggle = (queue: Queue) =>
    action.run(async () => {
      const verb = queue.paused ? 'resume' : 'pause';
      await api('POST', `/queues/${encodeURIComponent(queue.name)}/${verb}`);
      queues.reload();
      return `Queue ${queue.name} ${verb === 'pause' ? 'paused' : 'resumed'}.`;
    });
  const list = queues.data?.queues ?? [];
  const readAt = queues.data?.readAt ?? 0;
  // The oldest ready job's age grows as it waits: drawn again when one would read differently.
  const now = useRedrawWhenChanged(list.map((queue) => (at: number) => oldestReady(queue, readAt, at)));
  return (
    <section aria-labelledby="queues-title" class="card">
      <h2 id="queues-title">Queues</h2>
      <Problem error={queues.error} what="the queue list" />
      <Outcome text={action.outcome?.text ?? null} error={action.outcome?.error ?? false} />
      {queues.data !== undefined && list.length === 0 && (
        <p>No jobs yet: queues appear with their first job.</p>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Queues" class="stack">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                {JOB_STATES.map((state) => (
                  <th scope="col" class="num" key={state}>
                    {state}
                  </th>
                ))}
                <th scope="col" class="num">
                  Oldest ready
                </th>
                <th scope="col">Held back</th>
                {canOperate && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((queue) => (
                <tr key={queue.name}>
                  <th scope="row" class="name row-name">
                    <Link to={`/jobs?queue=${encodeURIComponent(queue.name)}`}>{queue.name}</Link>{' '}
                    {queue.paused && <span class="badge paused">paused</span>}
                  </th>
                  {JOB_STATES.map((state) => (
                    <td class={`num count-${state}`} key={state} data-label={state}>
                      {queue.counts[state]}
                    </td>
                  ))}
                  <td class="num oldest-ready" data-label="Oldest ready">
                    {oldestReady(queue, readAt, now)}
                  </td>
                  <td class="held-back" data-label="Held back">
                    {heldBack(queue.throttled)}
                  </td>
                  {canOperate && (
                    <td class="row-aside">
                      <button
                        type="button"
                        aria-label={`${queue.paused ? 'Resume' : 'Pause'} queue ${queue.name}`}
                        onClick={() => void toggle(queue)}
                      >
                        {queue.paused ? 'Resume' : 'Pause'}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {finishedAge(list, readAt, now)}
    </section>
  );
}

/** Below this age the finished counts are taken as current and say nothing of it. */
const FINISHED_AGE_SHOWN_MS = 1_000;

/**
 * How old the finished counts are, when the server reused a count of a long history (GET /queues
 * `finishedCountsAgeMs`, the same for every queue): otherwise they would seem stuck while jobs finish.
 */
function finishedAge(list: Queue[], readAt: number, now: number) {
  const ageMs = list[0]?.finishedCountsAgeMs;
  if (ageMs === undefined || ageMs < FINISHED_AGE_SHOWN_MS) return null;
  return (
    <p class="muted finished-age">
      Completed, failed and cancelled counts as of {duration(ageMs + Math.max(0, now - readAt))} ago: counting
      a long history is reused for a while.
    </p>
  );
}

/** A window reads again when its next bucket begins, but no more often than this. */
const MIN_STATS_RELOAD_MS = 5_000;

/**
 * The charts over `choice`, which the address keeps (so a reload, back and forward, and a shared link
 * show the same range): picking a range is a step in the browser's history, as a job filter is.
 */
function Stats(props: { choice: RangeChoice }) {
  const { navigate } = useApp();
  const { choice } = props;
  const stats = useLoad(
    async () => ({ ...(await loadStats(choice)), readAt: Date.now() }),
    [choice],
    // The window slides with time, and Auto may pick another range as attempts age: read again when
    // a bucket has passed, which no event tells (a page left open after the demo has no events). A
    // window without attempts stays empty until one ends, and that comes with an event.
    (read) =>
      read.buckets.some(hasAttempts)
        ? read.readAt + Math.max(read.range.bucketSeconds * 1_000, MIN_STATS_RELOAD_MS)
        : null,
  );
  const read = stats.data;
  return (
    <section aria-labelledby="stats-title" class="card">
      <div class="card-head">
        <h2 id="stats-title">Throughput and latency</h2>
        <RangePicker choice={choice} onChoose={(next) => navigate(rangePath(next))} />
      </div>
      <Problem error={stats.error} what="throughput and latency statistics" />
      {read !== undefined && <StatsCharts read={read} auto={choice === 'auto'} />}
    </section>
  );
}

/** Auto, then every range, as one row of radio buttons. */
function RangePicker(props: { choice: RangeChoice; onChoose: (choice: RangeChoice) => void }) {
  const options = [{ id: 'auto', label: 'Auto' }, ...RANGES];
  return (
    <div class="segmented" role="radiogroup" aria-label="Range">
      {options.map((option) => (
        <label key={option.id} class={props.choice === option.id ? 'chosen' : undefined}>
          <input
            type="radio"
            name="stats-range"
            value={option.id}
            checked={props.choice === option.id}
            onChange={() => props.onChoose(option.id)}
          />
          {option.label}
        </label>
      ))}
    </div>
  );
}

function StatsCharts(props: { read: StatsRead; auto: boolean }) {
  const { range, buckets } = props.read;
  const bucketMs = range.bucketSeconds * 1_000;
  const span = `the last ${range.label}`;
  const bucket =
    range.bucketSeconds === 1
      ? 'second'
      : range.bucketSeconds === 60
        ? 'minute'
        : range.bucketSeconds < 60
          ? `${range.bucketSeconds} s`
          : `${range.bucketSeconds / 60} min`;
  // Auto past a quiet hour says so: the chart's right end is flat for a reason, not a gap in the data.
  const quiet =
    props.read.quietRange === null ? '' : ` (no attempt ended in the last ${props.read.quietRange.label})`;
  const what = `${props.auto ? 'Auto: last' : 'Last'} ${range.label}, one point per ${bucket}${quiet}`;
  const first = buckets[0];
  if (first === undefined || !buckets.some(hasAttempts)) {
    return (
      <p class="empty" role="status">
        No job attempt ended in {span}. The charts fill in as jobs complete, fail or retry.
      </p>
    );
  }
  const axis: TimeAxis = { starts: buckets.map((b) => Date.parse(b.at)), bucketMs };
  // Counts per bucket read as a rate: per second for buckets under a minute, else per minute.
  const perSecond = range.bucketSeconds < 60;
  const per = perSecond ? range.bucketSeconds : range.bucketSeconds / 60;
  const rate = (count: number) => count / per;
  const count = (v: number) =>
    `${v >= 100 ? Math.round(v) : Number(v.toPrecision(2))}/${perSecond ? 's' : 'min'}`;
  const ms = (v: number) => duration(v);
  return (
    <>
      <p class="muted chart-range">{what}</p>
      <div class="charts">
        <LineChart
          title="Throughput"
          unit={count}
          axis={axis}
          series={[
            { label: 'completed', color: 'var(--ok)', values: buckets.map((b) => rate(b.completed)) },
            { label: 'failed', color: 'var(--bad)', values: buckets.map((b) => rate(b.failed)) },
            { label: 'retried', color: 'var(--warn)', values: buckets.map((b) => rate(b.retried)) },
          ]}
        />
        <LineChart title="Wait before start" unit={ms} axis={axis} series={percentiles(buckets, 'waitMs')} />
        <LineChart title="Run time" unit={ms} axis={axis} series={percentiles(buckets, 'runMs')} />
      </div>
    </>
  );
}

/** The p50, p95 and p99 lines of a latency over the buckets. */
function percentiles(buckets: StatsBucket[], key: 'waitMs' | 'runMs'): Series[] {
  return (
    [
      ['p50', 'var(--accent)'],
      ['p95', 'var(--warn)'],
      ['p99', 'var(--bad)'],
    ] as const
  ).map(([label, color]) => ({ label, color, values: buckets.map((b) => b[key][label]) }));
}

/**
 * Open alerts as badges; one that names a job or schedule links to it. Read again when they would change
 * with nothing written (`nextChangeInMs`).
 */
export function Alerts(props: { kinds?: string[]; title?: string }) {
  const alerts = useLoad(
    async () => ({ ...(await api<AlertReading>('GET', '/alerts')), readAt: Date.now() }),
    [],
    // An alert that begins or ends by the passing of time (a job running too long, a queue's job
    // coming due and waiting) has no event to reload the page: read again when the server says.
    (read) => soonestAfter(read.readAt, [read.nextChangeInMs]),
  );
  const list = (alerts.data?.alerts ?? []).filter(
    (a) => props.kinds === undefined || props.kinds.includes(a.kind),
  );
  const readAt = alerts.data?.readAt ?? 0;
  // How long an alert has held, and what its message measures, grow as time passes: drawn again when
  // one would read differently.
  const now = useRedrawWhenChanged(
    list.map((alert) => (at: number) => `${alertMessage(alert, at - readAt)}\n${relative(alert.since, at)}`),
  );
  if (alerts.error !== undefined && !isUnavailable(alerts.error))
    return <Problem error={alerts.error} what="alerts" />;
  return (
    <section aria-label={props.title ?? 'Alerts'} class="alerts">
      {isUnavailable(alerts.error) && <Problem error={alerts.error} what="alerts" />}
      {alerts.data !== undefined && list.length === 0 && <span class="badge ok">no alerts</span>}
      {list.map((alert) => {
        const target =
          alert.jobId !== undefined
            ? `/jobs/${alert.jobId}`
            : alert.scheduleId !== undefined
              ? schedulePath(alert.scheduleId)
              : alert.queue !== undefined
                ? `/jobs?queue=${encodeURIComponent(alert.queue)}`
                : null;
        const text = (
          <>
            <strong>{alert.kind.replace(/_/g, ' ')}</strong> {alertMessage(alert, now - readAt)}
          </>
        );
        const key = `${alert.kind}:${alert.subject}`;
        const title = `since ${relative(alert.since, now)}`;
        if (target === null)
          return (
            <span key={key} class="badge alert" title={title}>
              {text}
            </span>
          );
        return (
          <Link key={key} class="badge alert" to={target} title={title}>
            {text}
          </Link>
        );
      })}
    </section>
  );
}

/**
 * What four kinds of alert measure, worded by the server (src/observe/alerts.ts) at its reading: how
 * long a job has run, how long ago a lease ended, how long ago a ready job came due (two kinds). Each
 * is the figure in seconds before the end of the message.
 */
const MEASURED: Partial<Record<string, RegExp>> = {
  max_duration: /( has run )(\d+\.\d) s(, past its maxDurationMs \d+)$/,
  stuck_job: /( ended )(\d+\.\d) s( ago and no rescuer has recovered it)$/,
  oldest_ready_age: /(: a job due )(\d+\.\d) s( ago is still unclaimed \(threshold \d+\.\d s\))$/,
  unserved_queue:
    /(: a job due )(\d+\.\d) s( ago waits and no live worker claims from this queue \([^)]*\))$/,
};

/**
 * An alert's message `elapsedMs` after it was read: what it measures is then that much longer, told in
 * the dashboard's units ("has run 3.0 min"), so an open page does not show it as it was when read. A
 * message worded otherwise (another kind, another server) reads as it came.
 */
function alertMessage(alert: Alert, elapsedMs: number): string {
  const match = MEASURED[alert.kind]?.exec(alert.message);
  if (match === null || match === undefined) return alert.message;
  const [, before = '', seconds = '', after = ''] = match;
  const measured = duration(Number(seconds) * 1_000 + Math.max(0, elapsedMs));
  return `${alert.message.slice(0, match.index)}${before}${measured}${after}`;
}

/** The latest live events, as they arrive. */
function Activity() {
  const { recent } = useApp();
  if (recent.length === 0) return null;
  return (
    <section aria-labelledby="activity-title" class="card">
      <h2 id="activity-title">Live activity</h2>
      <ul class="activity">
        {recent.slice(0, 10).map((event) => (
          <li key={event.id}>
            <time dateTime={event.at}>{new Date(event.at).toLocaleTimeString()}</time> {event.type}{' '}
            {event.task ?? ''} {event.queue !== undefined && <span class="muted">on {event.queue}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * When the counts change with no event: the soonest scheduled job of any queue comes due (it then
 * counts as queued), `nextDueInMs` after the answer arrived.
 */
function countsChangeAt(read: { queues: Queue[]; readAt: number }): number | null {
  return soonestAfter(
    read.readAt,
    read.queues.map((queue) => queue.nextDueInMs),
  );
}

/**
 * The age of a queue's oldest ready job at `now` (this browser's clock): the age the server measured,
 * by the store's clock, plus the time since its answer arrived at `readAt` (so the two clocks need not
 * agree). It grows until a read says otherwise: a claim is an event, which reads the list again.
 */
function oldestReady(queue: Queue, readAt: number, now: number): string {
  const measured = queue.oldestReadyAgeMs;
  return duration(measured === null ? null : measured + Math.max(0, now - readAt));
}

/** Why ready jobs wait, per reason of GET /queues' `throttled` (docs/TENANCY.md, "Throttled jobs"). */
const HELD_BECAUSE: Partial<Record<string, string>> = {
  paused: 'the queue is paused',
  unserved: 'no running worker claims from this queue',
  queue_limit: 'the queue runs as many jobs as its limit',
  queue_rate: "the queue's rate allows no start now",
  labels: 'no running worker offers every label they require',
  key_limit: 'their concurrency key runs as many jobs as its limit',
  key_rate: "their concurrency key's rate allows no start now",
};

/**
 * Ready jobs held back, by reason (the server lists every reason, 0 when none): `paused 3, labels 1`,
 * each part titled with what it means.
 */
function heldBack(throttled: Record<string, number> | undefined) {
  const parts = Object.entries(throttled ?? {}).filter(([, count]) => count > 0);
  // None reads as the Oldest ready cell beside it does (format.ts's dash).
  if (parts.length === 0) return '—';
  return parts.map(([reason, count], i) => (
    <span
      key={reason}
      title={`${count} ready ${count === 1 ? 'job waits' : 'jobs wait'}: ${HELD_BECAUSE[reason] ?? reason}`}
    >
      {i > 0 && ', '}
      {reason.replace('_', ' ')} {count}
    </span>
  ));
}
