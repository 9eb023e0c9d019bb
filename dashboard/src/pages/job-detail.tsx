/**
 * One job: its state, keys, group and required labels, payload, result, error with stack, every run
 * (worker, start, duration, run lag, outcome), whatever else the server's job object carries, and the
 * log lines its handler wrote. Operators may retry, cancel or delete it from here.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiFailure, isUnavailable } from '../api.js';
import { useApp } from '../app-context.js';
import { soonestDue } from '../due.js';
import { Confirm, JsonBlock, Outcome, Problem, StateBadge, useAction, useLoad, Link } from '../components.js';
import { duration, json, relative, when } from '../format.js';
import { useRedrawWhenChanged } from '../redraw.js';
import type { Job, JobRun, LogLine } from '../types.js';
import { schedulePath } from './schedules.js';

// Fields the page shows in its own places; any other field of the job object is listed as it comes.
const SHOWN = new Set([
  'id',
  'task',
  'queue',
  'state',
  'priority',
  'attempt',
  'maxAttempts',
  'payload',
  'result',
  'error',
  'runAt',
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
  'idempotencyKey',
  'concurrencyKey',
  'group',
  'requires',
  'scheduleId',
  'parentId',
  'cancelRequested',
]);

export function JobDetailPage(props: { id: string }) {
  const { canOperate, navigate } = useApp();
  const path = `/jobs/${encodeURIComponent(props.id)}`;
  const job = useLoad(
    () => api<{ job: Job }>('GET', path),
    [props.id],
    (data) => soonestDue([data.job]),
  );
  const runs = useLoad(() => api<{ runs: JobRun[] }>('GET', `${path}/runs`), [props.id]);
  const logs = useLoad(() => api<{ logs: LogLine[] }>('GET', `${path}/logs`), [props.id]);
  const action = useAction();
  const [confirming, setConfirming] = useState<'retry' | 'cancel' | 'delete' | null>(null);
  const current = job.data?.job;
  // "Due in 3.0 min" or "Due 12 s ago" reads relative to now: drawn again when it would read differently.
  const now = useRedrawWhenChanged(
    current === undefined ? [] : [(at: number) => relative(current.runAt, at)],
  );

  const act = (kind: 'retry' | 'cancel' | 'delete') =>
    action.run(async () => {
      setConfirming(null);
      if (kind === 'delete') {
        await api('DELETE', path);
        navigate('/jobs');
        return 'Job deleted.';
      }
      const { outcome } = await api<{ outcome: string }>('POST', `${path}/${kind}`);
      job.reload();
      return `Done: ${outcome.replace(/_/g, ' ')}.`;
    });

  // A job that cannot be read is one line (and its runs and log, which belong to it, none): "no job
  // with id" for a mistyped, shared, deleted or pruned id, else why it could not be read.
  if (job.data === undefined && job.error !== undefined) {
    return (
      <section aria-labelledby="job-title">
        <h1 id="job-title">{isMissing(job.error) ? 'Job not found' : 'Job'}</h1>
        {isMissing(job.error) ? (
          <p class="error" role="alert">
            No job with id {props.id}: it was never created, or it was deleted or pruned since.
          </p>
        ) : (
          <Problem error={job.error} what="the job" />
        )}
        <p>
          <Link to="/jobs">All jobs</Link>
        </p>
      </section>
    );
  }
  const waiting = current !== undefined && waitingAgain(current);
  const extra = current === undefined ? [] : Object.entries(current).filter(([key]) => !SHOWN.has(key));
  return (
    <section aria-labelledby="job-title">
      <p>
        <a
          href="/jobs"
          onClick={(e) => {
            e.preventDefault();
            history.back();
          }}
        >
          ← Jobs
        </a>
      </p>
      <Problem error={job.error} what="the job" />
      {current !== undefined && (
        <>
          <h1 id="job-title">
            {current.task} <StateBadge state={current.state} />
          </h1>
          <p class="mono muted">{current.id}</p>
          <Outcome text={action.outcome?.text ?? null} error={action.outcome?.error ?? false} />
          {canOperate && (
            <div class="toolbar" role="toolbar" aria-label="Job actions">
              <button
                type="button"
                disabled={!['failed', 'cancelled'].includes(current.state)}
                onClick={() => setConfirming('retry')}
              >
                Retry
              </button>
              <button
                type="button"
                disabled={['completed', 'failed', 'cancelled'].includes(current.state)}
                onClick={() => setConfirming('cancel')}
              >
                Cancel
              </button>
              <button
                type="button"
                class="danger"
                disabled={!['completed', 'failed', 'cancelled'].includes(current.state)}
                onClick={() => setConfirming('delete')}
              >
                Delete
              </button>
            </div>
          )}
          {confirming !== null && (
            <Confirm
              question={`${confirming[0]?.toUpperCase()}${confirming.slice(1)} this job?`}
              confirmLabel={`Yes, ${confirming}`}
              danger={confirming !== 'retry'}
              onConfirm={() => void act(confirming)}
              onCancel={() => setConfirming(null)}
            />
          )}
          <dl class="facts card">
            <dt>Queue</dt>
            <dd>{current.queue}</dd>
            <dt>Attempt</dt>
            <dd>
              {current.attempt} of {current.maxAttempts}
            </dd>
            <dt>Priority</dt>
            <dd>{current.priority}</dd>
            <dt>Created</dt>
            <dd title={current.createdAt}>{when(current.createdAt)}</dd>
            <dt>Due</dt>
            <dd title={current.runAt}>{relative(current.runAt, now)}</dd>
            <dt>{waiting && current.startedAt !== null ? 'Last attempt started' : 'Started'}</dt>
            <dd>{when(current.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>{when(current.finishedAt)}</dd>
            <Optional label="Concurrency key" value={current.concurrencyKey} />
            <Optional label="Group" value={current.group} />
            <Optional
              label="Requires"
              value={current.requires.length === 0 ? null : current.requires.join(', ')}
            />
            <Optional label="Idempotency key" value={current.idempotencyKey} />
            {current.scheduleId !== null && (
              <>
                <dt>Schedule</dt>
                <dd>
                  <Link to={schedulePath(current.scheduleId)}>{current.scheduleId}</Link>
                </dd>
              </>
            )}
            {current.parentId !== null && (
              <>
                <dt>Parent</dt>
                <dd>
                  <Link to={`/jobs/${current.parentId}`}>{current.parentId}</Link>
                </dd>
              </>
            )}
            {current.cancelRequested && (
              <>
                <dt>Cancel</dt>
                <dd>requested</dd>
              </>
            )}
          </dl>
          <div class="columns">
            <section aria-labelledby="payload-title" class="card">
              <h2 id="payload-title">Payload</h2>
              <JsonBlock value={current.payload} label="Payload" />
            </section>
            <section aria-labelledby="result-title" class="card">
              <h2 id="result-title">Result</h2>
              <JsonBlock value={current.result} label="Result" />
            </section>
          </div>
          {current.error !== null && (
            <section aria-labelledby="error-title" class="card">
              <h2 id="error-title">{earlierError(current) ? 'Last attempt error' : 'Error'}</h2>
              <p class="error">
                {current.error.name ?? 'Error'}: {current.error.message}{' '}
                <span class="muted">({current.error.reason})</span>
              </p>
              {current.error.stack !== undefined && (
                <pre class="stack" aria-label="Stack trace" tabIndex={0}>
                  {current.error.stack}
                </pre>
              )}
            </section>
          )}
          {extra.length > 0 && (
            <section aria-labelledby="state-title" class="card">
              <h2 id="state-title">Other fields</h2>
              <dl class="facts">
                {extra.map(([key, value]) => (
                  <Fragment key={key}>
                    <dt>{key}</dt>
                    <dd>
                      <pre class="json">{json(value)}</pre>
                    </dd>
                  </Fragment>
                ))}
              </dl>
            </section>
          )}
        </>
      )}
      <section aria-labelledby="runs-title" class="card">
        <h2 id="runs-title">Runs</h2>
        <Problem error={runs.error} what="the run history" />
        {runs.data !== undefined && runs.data.runs.length === 0 && <p>Not run yet.</p>}
        {(runs.data?.runs.length ?? 0) > 0 && (
          <div class="scroll">
            <table aria-label="Runs">
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">Worker</th>
                  <th scope="col">Started</th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                  <th scope="col" class="num">
                    Run lag
                  </th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {runs.data?.runs.map((run) => (
                  <tr key={run.attempt}>
                    <td class="num">{run.attempt}</td>
                    <td class="mono name">{run.workerId}</td>
                    <td>{when(run.startedAt)}</td>
                    <td class="num">{duration(run.durationMs)}</td>
                    <td class="num">{duration(run.runLagMs)}</td>
                    <td class="run-outcome">
                      <StateBadge state={run.outcome} />
                      {run.error !== null && <div class="muted">{run.error.message}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="logs-title" class="card">
        <h2 id="logs-title">Log</h2>
        <Problem error={logs.error} what="the job log" />
        {logs.data !== undefined && logs.data.logs.length === 0 && <p>The handler wrote no log lines.</p>}
        {(logs.data?.logs.length ?? 0) > 0 && (
          <ol class="log" aria-label="Log lines">
            {logs.data?.logs.map((line, i) => (
              <li key={i} class={`level-${line.level}`}>
                <time dateTime={line.at}>{new Date(line.at).toLocaleTimeString()}</time>{' '}
                <span class="muted">#{line.attempt}</span> <strong>{line.level}</strong> {line.message}
                {line.data !== undefined && line.data !== null && <code> {JSON.stringify(line.data)}</code>}
              </li>
            ))}
          </ol>
        )}
      </section>
    </section>
  );
}

/**
 * A job queued or scheduled (again, after a retry's backoff, a release or a manual retry) keeps its last
 * attempt's start and error: shown as plain "Started" and "Error", they read as if it were running or
 * had just failed, so the job page and the job list say they are the last attempt's.
 */
export function waitingAgain(job: Job): boolean {
  return job.state === 'queued' || job.state === 'scheduled';
}

/**
 * Whether the job's error is an earlier attempt's: it waits again, or runs again (its running attempt
 * has not failed; the error it keeps is the one before). Shown as plain "Error" on a running retry, it
 * read as if the attempt running now had failed.
 */
export function earlierError(job: Job): boolean {
  return waitingAgain(job) || job.state === 'running';
}

/** True when the API says the job does not exist (not that the server lacks the route). */
function isMissing(error: unknown): boolean {
  return error instanceof ApiFailure && error.status === 404 && !isUnavailable(error);
}

/** A fact the job may lack: nothing at all when it is null. */
function Optional(props: { label: string; value: string | null }) {
  if (props.value === null) return null;
  return (
    <>
      <dt>{props.label}</dt>
      <dd class="mono">{props.value}</dd>
    </>
  );
}
