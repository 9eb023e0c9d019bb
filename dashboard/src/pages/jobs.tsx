/**
 * Jobs: filter by state, queue, task (both suggested from what the server knows), creation time and
 * text; page with the API's cursor; select rows, or everything matching the filter, and retry, cancel
 * or delete them after a confirmation that says how many jobs it will touch; the outcome says how many
 * changed. Operators enqueue a job from here (enqueue-form.tsx). A page that one read of the API does
 * not fill, because the read stopped at its walk bound, searches on by itself (job-search.ts).
 */
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useApp } from '../app-context.js';
import { soonestAfter, soonestDue } from '../due.js';
import { MAX_SEARCH_MS, WALK_MAX, searchPage, type Search, type SearchedPage } from '../job-search.js';
import { Confirm, Outcome, PageTitle, Problem, StateBadge, useAction, useLoad, Link } from '../components.js';
import { preview, relative } from '../format.js';
import { useRedrawWhenChanged } from '../redraw.js';
import { JOB_STATES, type Job, type JobPage, type JobState, type Queue } from '../types.js';
import {
  ListFilter,
  Pager,
  Suggestions,
  queueNames,
  taskNames,
  useCursors,
  useSuggested,
} from '../list-filter.js';
import { EnqueueForm } from './enqueue-form.js';
import { earlierError } from './job-detail.js';

const PAGE_SIZE = 50;
// A bulk request changes at most this many jobs (the API's MAX_BULK_CHANGES).
const MAX_BULK_CHANGES = 100_000;
// The job list pages by this many at most; counting past it would read every matching job.
const COUNT_PAGE = 1_000;

interface Filter {
  state: string;
  queue: string;
  task: string;
  search: string;
  createdAfter: string;
  createdBefore: string;
}

const FILTER_KEYS = ['state', 'queue', 'task', 'search', 'createdAfter', 'createdBefore'] as const;

function filterOf(search: string): Filter {
  const params = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? ''])) as unknown as Filter;
}

const TIME_LABELS = { createdAfter: 'Created after', createdBefore: 'Created before' } as const;

/** The filter as the API takes it: ISO times, no empty values. Throws on a time that is no date. */
function apiFilter(filter: Filter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value === '') continue;
    if (key === 'createdAfter' || key === 'createdBefore') {
      // The address may carry any text (typed or shared by hand), not only what the date field wrote.
      const at = new Date(value);
      if (Number.isNaN(at.getTime()))
        throw new Error(`${TIME_LABELS[key]}: "${value}" is not a date and time`);
      out[key] = at.toISOString();
    } else out[key] = value;
  }
  return out;
}

type BulkAction = 'retry' | 'cancel' | 'delete';

// The states each action applies to, as the API takes them: retry a failed or cancelled job, cancel an
// unfinished one, delete a finished one (the server refuses the others).
const ACTION_STATES: Record<BulkAction, readonly JobState[]> = {
  retry: ['failed', 'cancelled'],
  cancel: ['scheduled', 'queued', 'running'],
  delete: ['completed', 'failed', 'cancelled'],
};

/** "failed or cancelled", "scheduled, queued or running": the states an action applies to. */
function statesText(kind: BulkAction): string {
  const states = ACTION_STATES[kind];
  return `${states.slice(0, -1).join(', ')} or ${states.at(-1) ?? ''}`;
}

export function JobsPage(props: { search: string }) {
  const { canOperate, navigate } = useApp();
  const filter = filterOf(props.search);
  const pages = useCursors<SearchedPage>(props.search);
  const { cursor, kept } = pages;
  // Reading again. A page one read gave (the usual case) follows the cluster as every list does: it is
  // read again on live events and when a job it shows comes due, and a read that now comes back short
  // searches on. A page gathered by a search of several reads does not: reading it again would walk up
  // to MAX_READS × WALK_MAX jobs on every burst of events (every 400 ms on a busy cluster), and the
  // events that came during one search would start the next as it ended, for as long as the page is
  // open. It stays as found, says so, and is searched again only when the reader asks (Search again, an
  // action or an enqueue from this page) or opens another filter or page; the events that came during
  // its search are dropped. Drawing the page again (redraw.ts: creation ages, due times) reads nothing
  // and never restarts a search. Previous back to a gathered page shows it as it was left (`kept`), so
  // that the page after it starts where it ended, whatever a new search would gather.
  const jobs = useLoad<SearchedPage>(
    (signal, publish) =>
      kept !== undefined && kept.search !== null
        ? Promise.resolve(kept)
        : searchPage(
            (from, limit, abort) =>
              api<JobPage>(
                'GET',
                `/jobs${query({ ...apiFilter(filter), limit, cursor: from })}`,
                undefined,
                abort,
              ),
            { cursor, pageSize: PAGE_SIZE, signal, publish },
          ),
    [props.search, cursor, kept],
    listChangesAt,
    (page) => page.search === null,
  );
  const readAgain = () => {
    pages.forget();
    jobs.reload();
  };
  const search = jobs.data?.search ?? null;
  // The selected jobs, each with its state as last listed (they may be on another page of the list).
  const [selected, setSelected] = useState<Map<string, JobState>>(new Map());
  const [allMatching, setAllMatching] = useState(false);
  const [pending, setPending] = useState<BulkAction | null>(null);
  const [enqueuing, setEnqueuing] = useState(false);
  const action = useAction();
  // What "every job matching this filter" is now, counted when the confirmation opens.
  const [matching, setMatching] = useState<{ kind: BulkAction; text: string } | null>(null);
  const ask = (kind: BulkAction) => {
    setPending(kind);
    setMatching(null);
    if (!allMatching) return;
    countMatching(kind, filter).then(
      (text) => setMatching({ kind, text }),
      (error: unknown) =>
        setMatching({
          kind,
          text: `Could not count them: ${error instanceof Error ? error.message : String(error)}.`,
        }),
    );
  };
  const counted = matching?.kind === pending ? matching.text : null;

  const list = jobs.data?.jobs ?? [];
  const applyFilter = (next: Filter) => {
    pages.restart();
    setSelected(new Map());
    setAllMatching(false);
    navigate(`/jobs${query({ ...next })}`);
  };
  const toggle = (job: Job) => {
    const next = new Map(selected);
    if (next.has(job.id)) next.delete(job.id);
    else next.set(job.id, job.state);
    setSelected(next);
    setAllMatching(false);
  };
  const pageSelected = list.length > 0 && list.every((j) => selected.has(j.id));
  // The creation ages ("3 s ago") and due times ("due in 4.0 min") read relative to now: drawn again
  // when one would read differently.
  const now = useRedrawWhenChanged(
    list.map((job) => (at: number) => `${relative(job.createdAt, at)} ${dueText(job, at)}`),
  );

  const perform = (kind: BulkAction) =>
    action.run(async () => {
      setPending(null);
      const text = allMatching ? await bulk(kind, filter) : await oneByOne(kind, [...selected.keys()]);
      setSelected(new Map());
      setAllMatching(false);
      readAgain();
      return text;
    });

  const filterState = filter.state as JobState | '';
  // How many selected jobs an action applies to, by their states as the list shows them now.
  const listed = new Map(list.map((job) => [job.id, job.state]));
  const applying = (kind: BulkAction) =>
    [...selected].filter(([id, state]) => ACTION_STATES[kind].includes(listed.get(id) ?? state)).length;
  const actionAllowed = (kind: BulkAction) =>
    allMatching
      ? kind !== 'delete' && (filterState === '' || ACTION_STATES[kind].includes(filterState))
      : applying(kind) > 0;

  return (
    <section aria-labelledby="jobs-title">
      <PageTitle
        id="jobs-title"
        title="Jobs"
        form={
          canOperate
            ? { label: 'Enqueue job', open: enqueuing, onToggle: () => setEnqueuing(!enqueuing) }
            : undefined
        }
      />
      {canOperate && enqueuing && <EnqueueForm onEnqueued={readAgain} />}
      <FilterForm key={props.search} filter={filter} onApply={applyFilter} />
      <Outcome text={action.outcome?.text ?? null} error={action.outcome?.error ?? false} />
      {canOperate && (
        <div class="toolbar" role="toolbar" aria-label="Actions on selected jobs">
          <span aria-live="polite">
            {allMatching ? 'All jobs matching this filter' : `${selected.size} selected`}
          </span>
          {pageSelected && !allMatching && (
            <button type="button" class="link" onClick={() => setAllMatching(true)}>
              Select all matching this filter
            </button>
          )}
          {(['retry', 'cancel', 'delete'] as const).map((kind) => (
            <button
              key={kind}
              type="button"
              class={kind === 'delete' ? 'danger' : undefined}
              disabled={!actionAllowed(kind)}
              title={
                !allMatching && selected.size > 0 && applying(kind) === 0
                  ? `No selected job is ${statesText(kind)}`
                  : undefined
              }
              onClick={() => ask(kind)}
            >
              {kind[0]?.toUpperCase()}
              {kind.slice(1)}
            </button>
          ))}
        </div>
      )}
      {pending !== null && (
        <Confirm
          question={
            allMatching
              ? `${pending[0]?.toUpperCase()}${pending.slice(1)} every job matching this filter?`
              : `${pending[0]?.toUpperCase()}${pending.slice(1)} ${selected.size} selected job(s)?`
          }
          confirmLabel={`Yes, ${pending}`}
          danger={pending !== 'retry'}
          busy={allMatching && counted === null}
          onConfirm={() => void perform(pending)}
          onCancel={() => setPending(null)}
        >
          {allMatching && (
            <p aria-live="polite" aria-busy={counted === null}>
              {counted ?? 'Counting the jobs it changes…'}
            </p>
          )}
          {!allMatching && applying(pending) < selected.size && (
            <p>
              Only {applying(pending)} of them {applying(pending) === 1 ? 'is' : 'are'} {statesText(pending)}:
              the others stay as they are.
            </p>
          )}
          {pending === 'delete' && <p>Deleted jobs are gone for good.</p>}
        </Confirm>
      )}
      <Problem error={jobs.error} what="the job list" />
      {jobs.data !== undefined && search !== null && (
        <SearchNote search={search} found={list.length} readAt={jobs.data.readAt} onSearchAgain={readAgain} />
      )}
      {jobs.data !== undefined && list.length === 0 && jobs.data.nextCursor === null && (
        <p>No job matches this filter.</p>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Jobs" class="stack">
            <thead>
              <tr>
                {canOperate && (
                  <th scope="col" class="select">
                    <input
                      type="checkbox"
                      aria-label="Select all jobs on this page"
                      checked={pageSelected}
                      onChange={() => {
                        setAllMatching(false);
                        setSelected(pageSelected ? new Map() : new Map(list.map((j) => [j.id, j.state])));
                      }}
                    />
                  </th>
                )}
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Queue</th>
                <th scope="col">Attempt</th>
                <th scope="col">Created</th>
                <th scope="col" class="wide">
                  Payload / error
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((job) => (
                <tr key={job.id}>
                  {canOperate && (
                    <td class="select">
                      <input
                        type="checkbox"
                        aria-label={`Select job ${job.id}`}
                        checked={allMatching || selected.has(job.id)}
                        onChange={() => toggle(job)}
                      />
                    </td>
                  )}
                  <td class="name row-name">
                    <Link to={`/jobs/${job.id}`}>{job.task}</Link>
                    <div class="muted mono">{job.id.slice(-12)}</div>
                  </td>
                  <td class="row-aside">
                    <StateBadge state={job.state} />
                    {job.state === 'scheduled' && (
                      <div class="muted" title={job.runAt}>
                        {dueText(job, now)}
                      </div>
                    )}
                  </td>
                  <td class="name" data-label="Queue">
                    {job.queue}
                  </td>
                  <td class="num" data-label="Attempt">
                    {job.attempt}/{job.maxAttempts}
                  </td>
                  <td title={job.createdAt} data-label="Created">
                    {relative(job.createdAt, now)}
                  </td>
                  <td class="mono wide">
                    {job.error === null ? (
                      preview(job.payload)
                    ) : (
                      <>
                        {earlierError(job) && <span class="muted">Last attempt error: </span>}
                        {job.error.message}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {/* Next waits for the search to end (or be stopped): until then the page's end is not known. */}
      <Pager
        previous={pages.previous}
        next={search?.stop != null ? null : pages.next(jobs.data?.nextCursor, jobs.data)}
      />
    </section>
  );
}

/** "no match", "1 match", "12 matches". */
function matchesText(count: number): string {
  return count === 0 ? 'no match' : `${count.toLocaleString()} ${count === 1 ? 'match' : 'matches'}`;
}

/**
 * How a page that one read did not fill came to be: the search going on, with Stop; or how it ended,
 * with Search again. The jobs searched are counted as WALK_MAX a read ("up to"): a read that came back
 * short with a cursor walked that many, the last one perhaps fewer.
 */
function SearchNote(props: { search: Search; found: number; readAt: number; onSearchAgain: () => void }) {
  const { search } = props;
  const found = matchesText(props.found);
  const searched = `up to ${(search.reads * WALK_MAX).toLocaleString()} jobs`;
  if (search.stop !== null)
    return (
      <p class="searching" role="status" aria-busy="true">
        Searching… {searched} searched, {found}.{' '}
        <button type="button" onClick={search.stop}>
          Stop
        </button>
      </p>
    );
  const again = (
    <button type="button" class="link" onClick={props.onSearchAgain}>
      Search again
    </button>
  );
  const { cut } = search;
  if (cut === null)
    return (
      <p class="muted searched">
        Searched {searched} for this page, at {new Date(props.readAt).toLocaleTimeString()}; not read again on
        live changes, which would search them all again. {again}
      </p>
    );
  const onward = 'Next page searches on from there.';
  const text =
    cut.kind === 'stopped'
      ? `Stopped: ${found} among ${searched} searched. ${onward}`
      : cut.kind === 'most-reads'
        ? `Stopped by itself after searching ${searched}, the most a page searches on its own: ${found}. ${onward}`
        : cut.kind === 'most-time'
          ? `Stopped by itself after ${MAX_SEARCH_MS / 1_000} s, the longest a page searches on its own: ${found} among ${searched} searched. ${onward}`
          : `Stopped: could not read on (${cut.message}): ${found} among ${searched} searched. Next page tries again from there.`;
  return (
    <p class={cut.kind === 'failed' ? 'error walk-stopped' : 'muted walk-stopped'} role="status">
      {text} {again}
    </p>
  );
}

function FilterForm(props: { filter: Filter; onApply: (filter: Filter) => void }) {
  const queues = useSuggested(queueNames);
  const tasks = useSuggested(taskNames);
  return (
    <ListFilter
      label="Filter jobs"
      idPrefix="filter-"
      filter={props.filter}
      cleared={filterOf('')}
      onApply={props.onApply}
    >
      {(field) => (
        <>
          <div>
            <label for="filter-state">State</label>
            <select {...field('state')} onChange={field('state').onInput}>
              <option value="">any</option>
              {JOB_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="filter-queue">Queue</label>
            <input {...field('queue')} list="filter-queue-names" />
            <Suggestions id="filter-queue-names" names={queues} />
          </div>
          <div>
            <label for="filter-task">Task</label>
            <input {...field('task')} list="filter-task-names" />
            <Suggestions id="filter-task-names" names={tasks} />
          </div>
          <div>
            <label for="filter-search">Text</label>
            <input {...field('search')} type="search" title="in payload, result or error" />
          </div>
          <div>
            <label for="filter-createdAfter">Created after</label>
            <input {...field('createdAfter')} type="datetime-local" />
          </div>
          <div>
            <label for="filter-createdBefore">Created before</label>
            <input {...field('createdBefore')} type="datetime-local" />
          </div>
        </>
      )}
    </ListFilter>
  );
}

/**
 * When the list changes with no event: a scheduled job it shows comes due (its runAt) and reads queued;
 * or, listing queued jobs (none of them scheduled), the soonest scheduled job matching the filter comes
 * due and joins it, `nextDueInMs` after the answer arrived.
 */
function listChangesAt(page: JobPage & { readAt: number }): number | null {
  return soonestDue(page.jobs) ?? soonestAfter(page.readAt, [page.nextDueInMs]);
}

/**
 * When a scheduled job comes due, relative to `now` ("due in 4.0 min", "due 2.0 s ago" until the list
 * reads it queued): why it has not run. Empty for a job in any other state.
 */
function dueText(job: Job, now: number): string {
  return job.state === 'scheduled' ? `due ${relative(job.runAt, now)}` : '';
}

/** The states a bulk action changes under a filter: what the API's bulk-retry and bulk-cancel take. */
function statesChanged(kind: BulkAction, filter: Filter): JobState[] {
  const state = filter.state as JobState | '';
  if (kind === 'retry') return [state === 'cancelled' ? 'cancelled' : 'failed'];
  return state === '' ? ['scheduled', 'queued', 'running'] : [state];
}

/**
 * How many jobs a bulk action on every job matching the filter changes now, per state: exact from the
 * queue counts when the filter is a queue and a state only, else by reading the job list, exact up to
 * 1,000 per state and "more than 1,000" past it. The list's reads stop at its walk bound, so a filter
 * matching few of a long history reads on from the cursor (searchPage, within its bounds): counting
 * one read's matches said "nothing would change" of jobs the action does change. A search cut short
 * gives "at least" counts, and says so.
 */
async function countMatching(kind: BulkAction, filter: Filter): Promise<string> {
  const states = statesChanged(kind, filter);
  const byQueue =
    filter.task === '' && filter.search === '' && filter.createdAfter === '' && filter.createdBefore === '';
  const counts: Array<{ state: JobState; count: number; more: boolean; cut: boolean }> = [];
  if (byQueue) {
    const { queues } = await api<{ queues: Queue[] }>('GET', '/queues');
    const chosen = queues.filter((q) => filter.queue === '' || q.name === filter.queue);
    for (const state of states)
      counts.push({
        state,
        count: chosen.reduce((sum, q) => sum + q.counts[state], 0),
        more: false,
        cut: false,
      });
  } else {
    for (const state of states) {
      const page = await searchPage(
        (from, limit, signal) =>
          api<JobPage>(
            'GET',
            `/jobs${query({ ...apiFilter(filter), state, limit, cursor: from })}`,
            undefined,
            signal,
          ),
        { cursor: undefined, pageSize: COUNT_PAGE, signal: new AbortController().signal, publish: () => {} },
      );
      const more = page.nextCursor !== null;
      counts.push({ state, count: page.jobs.length, more, cut: more && page.jobs.length < COUNT_PAGE });
    }
  }
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const more = counts.some((c) => c.more);
  const cut = counts.some((c) => c.cut);
  const parts = counts
    .filter((c) => c.count > 0 || c.cut)
    .map((c) => `${c.cut ? 'at least ' : c.more ? 'more than ' : ''}${c.count.toLocaleString()} ${c.state}`);
  const unsearched = cut
    ? ' The count stopped before the oldest jobs (the most a count searches); the action changes every match.'
    : '';
  if (total === 0 && !cut)
    return `No ${states.join(' or ')} job matches this filter now: nothing would change.`;
  const amount = `${cut ? 'at least ' : more ? 'more than ' : ''}${total.toLocaleString()} job(s)`;
  const running = kind === 'cancel' && states.includes('running') ? ' (running ones are asked to stop)' : '';
  const cap =
    total > MAX_BULK_CHANGES
      ? ` One request changes at most ${MAX_BULK_CHANGES.toLocaleString()}; repeat it for the rest.`
      : '';
  return `This changes ${amount} now: ${parts.join(', ')}${running}.${cap}${unsearched}`;
}

/** Retries or cancels every job matching the filter, in one request. */
async function bulk(kind: BulkAction, filter: Filter): Promise<string> {
  const body: Record<string, string> = apiFilter(filter);
  if (kind === 'retry') {
    const { retried } = await api<{ retried: number }>('POST', '/jobs/bulk-retry', body);
    return `Retried ${retried} job(s).`;
  }
  const { cancelled, cancelRequested } = await api<{ cancelled: number; cancelRequested: number }>(
    'POST',
    '/jobs/bulk-cancel',
    body,
  );
  return `Cancelled ${cancelled} job(s); asked ${cancelRequested} running job(s) to stop.`;
}

/** Applies the action to each selected job; counts what changed and what the server refused. */
async function oneByOne(kind: BulkAction, ids: string[]): Promise<string> {
  let changed = 0;
  const refused: string[] = [];
  for (const id of ids) {
    try {
      if (kind === 'delete') await api('DELETE', `/jobs/${id}`);
      else await api('POST', `/jobs/${id}/${kind}`);
      changed += 1;
    } catch (error) {
      refused.push(error instanceof Error ? error.message : String(error));
    }
  }
  const done = { retry: 'Retried', cancel: 'Cancelled', delete: 'Deleted' }[kind];
  const tail = refused.length === 0 ? '' : `; ${refused.length} refused (${refused[0] ?? ''})`;
  return `${done} ${changed} of ${ids.length} job(s)${tail}.`;
}
