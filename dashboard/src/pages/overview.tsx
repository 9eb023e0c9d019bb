/**
 * Overview: every queue with its counts per state, oldest ready age and pause state; throughput,
 * failures and wait/run percentiles of the last hour (GET /stats); open alerts (GET /alerts).
 */
import { api, isUnavailable } from '../api.js';
import { useApp } from '../app-context.js';
import { soonestAfter } from '../due.js';
import { LineChart, type Series } from '../charts.js';
import { Outcome, Problem, useAction, useLoad, Link } from '../components.js';
import { duration, relative } from '../format.js';
import { JOB_STATES, type AlertReading, type Queue, type StatsBucket } from '../types.js';
import { schedulePath } from './schedules.js';

export function OverviewPage() {
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Alerts />
      <Queues />
      <Stats />
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
          <table aria-label="Queues">
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
                  <th scope="row" class="name">
                    <Link to={`/jobs?queue=${encodeURIComponent(queue.name)}`}>{queue.name}</Link>{' '}
                    {queue.paused && <span class="badge paused">paused</span>}
                  </th>
                  {JOB_STATES.map((state) => (
                    <td class={`num count-${state}`} key={state}>
                      {queue.counts[state]}
                    </td>
                  ))}
                  <td class="num">{duration(queue.oldestReadyAgeMs)}</td>
                  <td class="held-back">{heldBack(queue.throttled)}</td>
                  {canOperate && (
                    <td>
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
    </section>
  );
}

function Stats() {
  const stats = useLoad(() => api<{ buckets: StatsBucket[] }>('GET', '/stats?minutes=60'), []);
  const buckets = stats.data?.buckets ?? [];
  const ms = (v: number) => duration(v);
  const count = (v: number) => `${Math.round(v)}/min`;
  return (
    <section aria-labelledby="stats-title" class="card">
      <h2 id="stats-title">Last hour</h2>
      <Problem error={stats.error} what="throughput and latency statistics" />
      {stats.data !== undefined && (
        <div class="charts">
          <LineChart
            title="Throughput"
            unit={count}
            series={[
              { label: 'completed', color: 'var(--ok)', values: buckets.map((b) => b.completed) },
              { label: 'failed', color: 'var(--bad)', values: buckets.map((b) => b.failed) },
              { label: 'retried', color: 'var(--warn)', values: buckets.map((b) => b.retried) },
            ]}
          />
          <LineChart title="Wait before start" unit={ms} series={percentiles(buckets, 'waitMs')} />
          <LineChart title="Run time" unit={ms} series={percentiles(buckets, 'runMs')} />
        </div>
      )}
    </section>
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
            <strong>{alert.kind.replace(/_/g, ' ')}</strong> {alert.message}
          </>
        );
        const key = `${alert.kind}:${alert.subject}`;
        const title = `since ${relative(alert.since)}`;
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

/** Ready jobs held back, by reason (the server lists every reason, 0 when none): `paused 3, labels 1`. */
function heldBack(throttled: Record<string, number> | undefined): string {
  const parts = Object.entries(throttled ?? {})
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason.replace('_', ' ')} ${count}`);
  return parts.length === 0 ? '–' : parts.join(', ');
}
