/**
 * Schedules: each with its rule, next slot, last outcome and state (paused, suspended with the
 * reason and last error); operators pause, resume and trigger; admins create, edit (schedule-form.tsx)
 * and delete them. The list pages by id, filtered by task, state and id prefix; the filter lives in the
 * address (`/schedules?task=report&state=paused&idPrefix=tenant-7:`), so a reload or a shared link
 * shows the same list.
 * `/schedules?schedule=<id>` (schedulePath) is one schedule's place: its row marked, in view, with its
 * history open (above the page when the page does not hold it).
 */
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, query } from '../api.js';
import { useApp } from '../app-context.js';
import { Confirm, Outcome, PageTitle, Problem, StateBadge, useAction, useLoad, Link } from '../components.js';
import { LineChart } from '../charts.js';
import { duration, relative, when } from '../format.js';
import { useRedrawWhenChanged } from '../redraw.js';
import { ListFilter, Pager, Suggestions, taskNames, useCursors, useSuggested } from '../list-filter.js';
import type { Schedule, Slot } from '../types.js';
import { ScheduleForm } from './schedule-form.js';

// Schedules per page: thousands of per-tenant schedules are read a page at a time, as the user asks.
const PAGE_SIZE = 50;

/** The schedule states the list filters by (the API's `state`). */
const SCHEDULE_STATES = ['active', 'paused', 'suspended'] as const;

/** The list's filter, as the address and the API's query name it; '' for none. */
interface ScheduleFilter {
  task: string;
  state: string;
  idPrefix: string;
}

const FILTER_KEYS = ['task', 'state', 'idPrefix'] as const;

function filterOf(search: string): ScheduleFilter {
  const params = new URLSearchParams(search);
  return {
    task: params.get('task') ?? '',
    state: params.get('state') ?? '',
    idPrefix: params.get('idPrefix') ?? '',
  };
}

function filtered(filter: ScheduleFilter): boolean {
  return FILTER_KEYS.some((key) => filter[key] !== '');
}

/**
 * A slot a scheduler has not taken this long after its time says no scheduler runs: its pass takes
 * every due slot each second, and a slot older than `missedAfterMs` (30 s by default) counts as missed.
 */
const OVERDUE_MS = 30_000;

/** The address of one schedule: the list, at its row, with its history open. */
export function schedulePath(id: string): string {
  return `/schedules${query({ schedule: id })}`;
}

export function SchedulesPage(props: { search: string }) {
  const { canOperate, canAdminister, navigate } = useApp();
  const filter = filterOf(props.search);
  const filterKey = query({ ...filter });
  const pages = useCursors(filterKey);
  const { cursor } = pages;
  const schedules = useLoad(
    () =>
      api<{ schedules: Schedule[]; nextCursor: string | null }>(
        'GET',
        `/schedules${query({ ...filter, limit: PAGE_SIZE, cursor })}`,
      ),
    [filterKey, cursor],
  );
  const action = useAction();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Schedule | null>(null);
  // The schedule the address names (a link from its job or an alert), or null.
  const focus = new URLSearchParams(props.search).get('schedule');
  const [opened, setOpened] = useState<string | null>(focus);
  useEffect(() => setOpened(focus), [focus]);
  const page = schedules.data?.schedules ?? [];
  const loaded = schedules.data !== undefined;
  // The named schedule, read on its own when the page shown does not hold it (null: there is none).
  const focusOnPage = focus !== null && page.some((schedule) => schedule.id === focus);
  const focused = useLoad(
    () => (loaded && focus !== null && !focusOnPage ? scheduleNamed(focus) : Promise.resolve(undefined)),
    [loaded, focus, focusOnPage],
  );
  // (A read for a focus since changed, or now on the page, is not shown.)
  const shownAlone = focused.data != null && !focusOnPage && focused.data.id === focus ? focused.data : null;
  const list = shownAlone === null ? page : [shownAlone, ...page];
  useEffect(() => {
    if (loaded && focus !== null) document.getElementById(rowId(focus))?.scrollIntoView({ block: 'center' });
  }, [loaded, focus, focused.data]);
  const applyFilter = (next: ScheduleFilter) => {
    pages.restart();
    navigate(`/schedules${query({ ...next })}`);
  };

  const run = (schedule: Schedule, verb: 'pause' | 'resume' | 'trigger') =>
    action.run(async () => {
      const path = `/schedules/${encodeURIComponent(schedule.id)}/${verb}`;
      if (verb === 'trigger') {
        const { status, jobId } = await api<{ status: string; jobId: string | null }>('POST', path);
        schedules.reload();
        // The job it made links to its page, as the Enqueue job form's does.
        return (
          <>
            Schedule {schedule.id} triggered: {status}
            {jobId !== null && (
              <>
                {' '}
                (job <Link to={`/jobs/${encodeURIComponent(jobId)}`}>{jobId}</Link>)
              </>
            )}
            .
          </>
        );
      }
      await api('POST', path);
      schedules.reload();
      return `Schedule ${schedule.id} ${verb === 'pause' ? 'paused' : 'resumed'}.`;
    });
  const remove = (schedule: Schedule) =>
    action.run(async () => {
      setDeleting(null);
      await api('DELETE', `/schedules/${encodeURIComponent(schedule.id)}`);
      // The address naming it would now read "no schedule with id …".
      if (focus === schedule.id) navigate('/schedules');
      schedules.reload();
      return `Schedule ${schedule.id} deleted.`;
    });
  // A form's outcome joins the page's outcome line, where every other action reports.
  const saved = (text: string) => {
    schedules.reload();
    void action.run(() => Promise.resolve(text));
  };

  // The next runs and last runs read relative to now: drawn again when one would read differently.
  const now = useRedrawWhenChanged(list.map((schedule) => (at: number) => timeTexts(schedule, at)));
  return (
    <section aria-labelledby="schedules-title">
      <PageTitle
        id="schedules-title"
        title="Schedules"
        form={
          canAdminister
            ? { label: 'New schedule', open: creating, onToggle: () => setCreating(!creating) }
            : undefined
        }
      />
      {canAdminister && creating && (
        <ScheduleForm
          onSaved={(schedule) => {
            setCreating(false);
            saved(`Schedule ${schedule.id} created${schedule.paused ? ', paused' : ''}.`);
          }}
        />
      )}
      <FilterForm key={filterKey} filter={filter} onApply={applyFilter} />
      <Outcome text={action.outcome?.text ?? null} error={action.outcome?.error ?? false} />
      {deleting !== null && (
        <Confirm
          question={`Delete schedule ${deleting.id}?`}
          confirmLabel="Yes, delete"
          danger
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(null)}
        >
          <p>Its slot history goes with it; the jobs it made are kept.</p>
          {deleting.source === 'config' && (
            <p class="error">
              It is declared in the config file: the next scheduler start creates it again. Remove it from the
              config&apos;s <code>schedules</code> to delete it for good.
            </p>
          )}
        </Confirm>
      )}
      <Problem error={schedules.error} what="the schedule list" />
      <Problem error={focused.error} what="the schedule the address names" />
      {loaded && focus !== null && focused.data === null && (
        <p class="error" role="alert">
          No schedule with id {focus}: it was never created, or it was deleted since.
        </p>
      )}
      {loaded && list.length === 0 && filtered(filter) && <p>No schedule matches this filter.</p>}
      {loaded && list.length === 0 && !filtered(filter) && <NoSchedules canCreate={canAdminister} />}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Schedules" class="stack">
            <thead>
              <tr>
                <th scope="col">Schedule</th>
                <th scope="col">Rule</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                <th scope="col">State</th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((schedule) => (
                <Fragment key={schedule.id}>
                  <tr
                    id={rowId(schedule.id)}
                    class={schedule.id === focus ? 'focused' : undefined}
                    aria-current={schedule.id === focus ? 'location' : undefined}
                  >
                    <th scope="row" class="name row-name">
                      {schedule.id}
                      <div class="muted">{schedule.task}</div>
                      {schedule.source === 'config' && (
                        <div class="muted" title="declared in the config file: changed there, not here">
                          from config
                        </div>
                      )}
                      <button
                        type="button"
                        class="link"
                        aria-label={`History of schedule ${schedule.id}`}
                        aria-expanded={opened === schedule.id}
                        onClick={() => setOpened(opened === schedule.id ? null : schedule.id)}
                      >
                        history
                      </button>
                    </th>
                    <td class="mono" data-label="Rule">
                      {schedule.cron ?? <span class="nowrap">every {duration(schedule.everyMs)}</span>}
                      <div class="muted">{schedule.timezone}</div>
                    </td>
                    <td data-label="Next run">
                      <NextRun schedule={schedule} now={now} />
                    </td>
                    <td data-label="Last run">
                      <LastRun schedule={schedule} now={now} />
                      {schedule.consecutiveFailures > 0 && (
                        <div class="error">{schedule.consecutiveFailures} failure(s) in a row</div>
                      )}
                    </td>
                    <td class="row-aside">
                      <ScheduleState schedule={schedule} />
                    </td>
                    {canOperate && (
                      <td class="buttons">
                        <button
                          type="button"
                          aria-label={`${stopped(schedule) ? 'Resume' : 'Pause'} schedule ${schedule.id}`}
                          onClick={() => void run(schedule, stopped(schedule) ? 'resume' : 'pause')}
                        >
                          {stopped(schedule) ? 'Resume' : 'Pause'}
                        </button>
                        <button
                          type="button"
                          aria-label={`Trigger schedule ${schedule.id} now`}
                          onClick={() => void run(schedule, 'trigger')}
                        >
                          Trigger
                        </button>
                        {/* The server refuses changes to a config schedule: the config is where it changes. */}
                        {canAdminister && schedule.source === 'api' && (
                          <button
                            type="button"
                            aria-label={`Edit schedule ${schedule.id}`}
                            aria-expanded={editing === schedule.id}
                            onClick={() => setEditing(editing === schedule.id ? null : schedule.id)}
                          >
                            Edit
                          </button>
                        )}
                        {canAdminister && (
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Delete schedule ${schedule.id}`}
                            onClick={() => setDeleting(schedule)}
                          >
                            Delete
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                  {opened === schedule.id && (
                    <tr>
                      <td colSpan={6}>
                        <History id={schedule.id} stopped={stoppedReason(schedule)} />
                      </td>
                    </tr>
                  )}
                  {editing === schedule.id && (
                    <tr>
                      <td colSpan={6}>
                        <ScheduleForm
                          schedule={schedule}
                          onSaved={(changed) => {
                            setEditing(null);
                            saved(`Schedule ${changed.id} saved.`);
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager previous={pages.previous} next={pages.next(schedules.data?.nextCursor)} />
    </section>
  );
}

/** The schedule named `id`, or null when there is none. */
async function scheduleNamed(id: string): Promise<Schedule | null> {
  try {
    return (await api<{ schedule: Schedule }>('GET', `/schedules/${encodeURIComponent(id)}`)).schedule;
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return null;
    throw error;
  }
}

/** Task (suggested from the task catalog), state and id prefix; applied, they go to the address. */
function FilterForm(props: { filter: ScheduleFilter; onApply: (filter: ScheduleFilter) => void }) {
  const tasks = useSuggested(taskNames);
  return (
    <ListFilter
      label="Filter schedules"
      idPrefix="schedule-filter-"
      filter={props.filter}
      cleared={filterOf('')}
      onApply={props.onApply}
    >
      {(field) => (
        <>
          <div>
            <label for="schedule-filter-task">Task</label>
            <input {...field('task')} list="schedule-filter-task-names" />
            <Suggestions id="schedule-filter-task-names" names={tasks} />
          </div>
          <div>
            <label for="schedule-filter-state">State</label>
            <select {...field('state')} onChange={field('state').onInput}>
              <option value="">any</option>
              {SCHEDULE_STATES.map((state) => (
                <option key={state} value={state}>
                  {state}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="schedule-filter-idPrefix">Id starts with</label>
            <input {...field('idPrefix')} title="case-sensitive, e.g. tenant-7:" />
          </div>
        </>
      )}
    </ListFilter>
  );
}

/** A schedule's next slots and its recent slot ledger (GET /schedules/:id). */
function History(props: { id: string; stopped: string | null }) {
  const details = useLoad(
    () =>
      api<{ nextSlots: string[]; recentSlots: Slot[] }>('GET', `/schedules/${encodeURIComponent(props.id)}`),
    [props.id],
  );
  if (details.data === undefined) return <Problem error={details.error} what="the schedule's history" />;
  const { nextSlots, recentSlots } = details.data;
  const upcoming = nextSlots.length === 0 ? 'none' : nextSlots.slice(0, 3).map(when).join(' · ');
  return (
    <div class="history">
      <p>
        <strong>Next:</strong>{' '}
        {props.stopped === null ? upcoming : `none ${props.stopped} (resumed now: ${upcoming})`}
      </p>
      {/* One run is a dot at the chart's edge: the table says it better. */}
      {recentSlots.filter((slot) => slot.runLagMs !== null || slot.durationMs !== null).length > 1 && (
        <LineChart
          title={`Start lag and duration of ${props.id}`}
          unit={duration}
          series={[
            // Oldest first, as the overview's charts read left to right.
            {
              label: 'start lag',
              color: 'var(--warn)',
              values: [...recentSlots].reverse().map((s) => s.runLagMs),
            },
            {
              label: 'duration',
              color: 'var(--ok)',
              values: [...recentSlots].reverse().map((s) => s.durationMs),
            },
          ]}
        />
      )}
      {recentSlots.length === 0 ? (
        <p>No slot has come yet.</p>
      ) : (
        // On a phone, where the schedule's row is a card as wide as the screen, the slots scroll
        // sideways on their own.
        <div class="scroll">
          <table aria-label={`Recent slots of ${props.id}`}>
            <thead>
              <tr>
                <th scope="col">Slot</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
                <th scope="col" class="num">
                  Start lag
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {recentSlots.map((slot) => (
                <tr key={slot.slotKey}>
                  <td>
                    {when(slot.slotAt)}
                    {slot.kind !== 'slot' && <span class="muted"> {slot.kind.replace('_', '-')}</span>}
                  </td>
                  <td>{slot.status}</td>
                  <td>
                    {slot.jobId === null ? (
                      (slot.outcome ?? '—')
                    ) : (
                      <Link to={`/jobs/${slot.jobId}`}>{slot.outcome ?? 'pending'}</Link>
                    )}
                  </td>
                  <td class="num">{duration(slot.runLagMs)}</td>
                  <td class="num">{duration(slot.durationMs)}</td>
                  <td>{slot.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** What a schedule's "Next run" cell says at a time: a line, maybe muted, and maybe a second line. */
interface NextRunText {
  text: string;
  muted: boolean;
  /** The slot's time, shown on hover. */
  title: string | null;
  note: { text: string; error: boolean } | null;
}

/**
 * When the schedule runs next, as read at `now`. A job written ahead of its slot (the scheduler's
 * lookahead) is the next run, and runs even if the schedule is paused since; otherwise a paused or
 * suspended schedule runs no slot until resumed, and an active one runs at `nextSlotAt` (overdue when
 * no scheduler takes it).
 */
function nextRun(schedule: Schedule, now: number): NextRunText {
  if (schedule.lastSlotAt !== null && Date.parse(schedule.lastSlotAt) > now) {
    return {
      text: relative(schedule.lastSlotAt, now),
      muted: false,
      title: schedule.lastSlotAt,
      note: { text: 'job written', error: false },
    };
  }
  const stopped = stoppedReason(schedule);
  if (stopped !== null) return { text: `none ${stopped}`, muted: true, title: null, note: null };
  if (schedule.nextSlotAt === null) return { text: 'none', muted: true, title: null, note: null };
  const late = now - Date.parse(schedule.nextSlotAt);
  if (late < 0)
    return { text: relative(schedule.nextSlotAt, now), muted: false, title: schedule.nextSlotAt, note: null };
  if (late < OVERDUE_MS) return { text: 'now', muted: false, title: schedule.nextSlotAt, note: null };
  return {
    text: `due ${duration(late)} ago`,
    muted: false,
    title: schedule.nextSlotAt,
    note: { text: 'no scheduler has taken it', error: true },
  };
}

function NextRun(props: { schedule: Schedule; now: number }) {
  const { text, muted, title, note } = nextRun(props.schedule, props.now);
  return (
    <span class={muted ? 'muted' : undefined} title={title ?? undefined}>
      {text}
      {note !== null && <div class={note.error ? 'error' : 'muted'}>{note.text}</div>}
    </span>
  );
}

/** Everything a schedule's row says that depends on the time, as it reads at `at`. */
function timeTexts(schedule: Schedule, at: number): string {
  const { text, note } = nextRun(schedule, at);
  return `${text}\n${note?.text ?? ''}\n${lastRunEnded(schedule, at)}`;
}

/** The element id of a schedule's row (any text may be an id: the address names it). */
function rowId(id: string): string {
  return `schedule-${encodeURIComponent(id)}`;
}

/** Resuming clears a pause and a suspension alike: a stopped schedule is offered Resume, not Pause. */
function stopped(schedule: Schedule): boolean {
  return stoppedReason(schedule) !== null;
}

/** Why no slot of the schedule runs now (`until resumed`, `while paused`), or null when its slots run. */
function stoppedReason(schedule: Schedule): string | null {
  if (schedule.suspendedAt !== null) return 'until resumed';
  return schedule.paused ? 'while paused' : null;
}

/**
 * The last run that finished: its outcome, when it ended and how long it took. A run in progress, or
 * written ahead of its slot, has no outcome yet and is not this one.
 */
function LastRun(props: { schedule: Schedule; now: number }) {
  const { schedule } = props;
  if (schedule.lastOutcome === null) return <>never</>;
  return (
    <>
      <StateBadge state={schedule.lastOutcome} />{' '}
      <span class="muted" title={schedule.lastFinishedAt ?? ''}>
        {lastRunEnded(schedule, props.now)}
        {schedule.lastDurationMs === null ? '' : `, took ${duration(schedule.lastDurationMs)}`}
      </span>
    </>
  );
}

/** When the last finished run ended, as read at `now` ("ended 3.0 min ago"), or '' when none did. */
function lastRunEnded(schedule: Schedule, now: number): string {
  if (schedule.lastOutcome === null || schedule.lastFinishedAt === null) return '';
  return `ended ${relative(schedule.lastFinishedAt, now)}`;
}

function ScheduleState(props: { schedule: Schedule }) {
  const { schedule } = props;
  if (schedule.suspendedAt !== null) {
    return (
      <>
        <span class="badge state-failed">suspended</span>
        <div class="error">{schedule.suspendedReason ?? ''}</div>
        {/* The reason the scheduler writes already ends with the last error's message. */}
        {schedule.lastError !== null &&
          !(schedule.suspendedReason ?? '').endsWith(schedule.lastError.message) && (
            <div class="muted">{schedule.lastError.message}</div>
          )}
      </>
    );
  }
  if (schedule.paused) return <span class="badge paused">paused</span>;
  return <span class="badge state-running">active</span>;
}

/** What an empty list says: how to make the first schedule, by what this caller may use. */
function NoSchedules(props: { canCreate: boolean }) {
  return (
    <div class="card">
      <p>No schedules yet.</p>
      {props.canCreate ? (
        <p class="hint">
          Create one with <strong>New schedule</strong> above, or declare it in the config&apos;s{' '}
          <code>schedules</code> (kept in step with the config at every scheduler start).
        </p>
      ) : (
        <p class="hint">
          An admin creates them: in the config&apos;s <code>schedules</code>, with{' '}
          <code>nightshift schedules create ID --task NAME --cron EXPR</code>, or with{' '}
          <code>POST /api/v1/schedules</code>.
        </p>
      )}
    </div>
  );
}
