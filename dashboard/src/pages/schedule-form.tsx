/**
 * One form for a schedule, to create it (POST /schedules) or to change it (PATCH /schedules/:id): the
 * same fields, hints and checks either way. Creating sends what was filled in and leaves the rest to
 * the server's defaults; changing sends only the fields that differ from the schedule as loaded. The
 * server validates the whole schedule again (cron, time zone, task, payload against the task's
 * schema); its refusal is shown beside the buttons and the form keeps everything typed.
 */
import { useMemo } from 'preact/hooks';
import { api, ApiFailure } from '../api.js';
import {
  CheckboxField,
  DurationField,
  FieldProblem,
  JsonField,
  MoreOptions,
  SelectField,
  SubmitRow,
  TextField,
  durationOf,
  durationText,
  integerOf,
  jsonOf,
  refusal,
  useDraft,
  useSubmit,
  type Unit,
} from '../forms.js';
import type { CatchUpPolicy, OverlapPolicy, Schedule } from '../types.js';

const OVERLAP_OPTIONS: ReadonlyArray<{ value: OverlapPolicy; label: string }> = [
  { value: 'skip', label: 'skip (no second run)' },
  { value: 'queue', label: 'queue (run after the active one)' },
  { value: 'allow', label: 'allow (run alongside)' },
];

const CATCH_UP_OPTIONS: ReadonlyArray<{ value: CatchUpPolicy; label: string }> = [
  { value: 'latest', label: 'latest (one run for all)' },
  { value: 'skip', label: 'skip (run none)' },
  { value: 'all', label: 'all (one run each, up to a limit)' },
];

type ScheduleDraft = {
  id: string;
  task: string;
  rule: 'cron' | 'every';
  cron: string;
  every: string;
  everyUnit: Unit;
  timezone: string;
  payload: string;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: string;
  queue: string;
  priority: string;
  jitter: string;
  jitterUnit: Unit;
  maxConsecutiveFailures: string;
  maxDrainRuns: string;
  paused: boolean;
};

/** The fields of a schedule the form writes, as the API takes them; undefined for an empty field. */
type ScheduleFields = Record<
  | 'task'
  | 'cron'
  | 'timezone'
  | 'everyMs'
  | 'payload'
  | 'overlap'
  | 'catchUp'
  | 'catchUpLimit'
  | 'queue'
  | 'priority'
  | 'jitterMs'
  | 'maxConsecutiveFailures'
  | 'maxDrainRuns',
  unknown
>;

/** How each field is named in a message, as its label reads. */
const LABELS: Record<keyof ScheduleFields, string> = {
  task: 'Task',
  cron: 'Cron expression',
  timezone: 'Time zone',
  everyMs: 'Every',
  payload: 'Payload',
  overlap: 'Overlap',
  catchUp: 'Catch-up',
  catchUpLimit: 'Catch-up limit',
  queue: 'Queue',
  priority: 'Priority',
  jitterMs: 'Jitter',
  maxConsecutiveFailures: 'Suspend after failures',
  maxDrainRuns: 'Drain runs per slot',
};

const text = (value: number | string | null) => (value === null ? '' : String(value));

/** The form's fields for a new schedule, or as `schedule` has them. */
function draftOf(schedule: Schedule | undefined): ScheduleDraft {
  const every = durationText(schedule?.everyMs ?? null);
  // No jitter (0) reads as an empty field, as on a new schedule.
  const jitter = durationText(schedule === undefined || schedule.jitterMs === 0 ? null : schedule.jitterMs);
  return {
    id: schedule?.id ?? '',
    task: schedule?.task ?? '',
    rule: schedule?.everyMs != null ? 'every' : 'cron',
    cron: schedule?.cron ?? '',
    every: every.text,
    everyUnit: schedule?.everyMs != null ? every.unit : 'min',
    timezone: schedule?.timezone ?? 'UTC',
    payload: schedule === undefined ? '' : JSON.stringify(schedule.payload ?? null, null, 2),
    overlap: schedule?.overlap ?? 'skip',
    catchUp: schedule?.catchUp ?? 'latest',
    catchUpLimit: text(schedule?.catchUpLimit ?? null),
    queue: schedule?.queue ?? '',
    priority: text(schedule?.priority ?? null),
    jitter: jitter.text,
    jitterUnit: jitter.unit,
    maxConsecutiveFailures: text(schedule?.maxConsecutiveFailures ?? null),
    maxDrainRuns: text(schedule?.maxDrainRuns ?? null),
    paused: false,
  };
}

/** The draft as the API's fields; throws FieldProblem for a field that cannot be read. */
function fieldsOf(draft: ScheduleDraft): ScheduleFields {
  const cron = draft.rule === 'cron';
  return {
    task: draft.task.trim() || undefined,
    cron: cron ? draft.cron.trim() || undefined : undefined,
    // Empty is the server's default, as when the field is left out.
    timezone: cron ? draft.timezone.trim() || 'UTC' : undefined,
    everyMs: cron ? undefined : durationOf('Every', draft.every, draft.everyUnit),
    payload: jsonOf('The payload', draft.payload),
    overlap: draft.overlap,
    catchUp: draft.catchUp,
    catchUpLimit: integerOf('Catch-up limit', draft.catchUpLimit),
    queue: draft.queue.trim() || undefined,
    priority: integerOf('Priority', draft.priority),
    jitterMs: durationOf('Jitter', draft.jitter, draft.jitterUnit),
    maxConsecutiveFailures: integerOf('Suspend after failures', draft.maxConsecutiveFailures),
    maxDrainRuns: integerOf('Drain runs per slot', draft.maxDrainRuns),
  };
}

/** POST /schedules: the id, and every field filled in. */
function creation(draft: ScheduleDraft): Record<string, unknown> {
  const fields = Object.entries(fieldsOf(draft)).filter(([, value]) => value !== undefined);
  return { id: draft.id.trim(), ...Object.fromEntries(fields), ...(draft.paused && { paused: true }) };
}

/** The fields the API empties when sent null: the task's queue and priority, never suspend. */
const CLEARABLE: ReadonlySet<keyof ScheduleFields> = new Set(['queue', 'priority', 'maxConsecutiveFailures']);

/**
 * PATCH /schedules/:id: the fields that differ from the schedule as loaded. A new rule is sent whole
 * (cron with its time zone, or the interval): the server drops the other kind. An emptied queue,
 * priority or failure bound is sent as null, which empties it; the other fields have no empty value
 * to go back to, so emptying one is refused here rather than quietly keeping the old value.
 */
function changes(draft: ScheduleDraft, loaded: ScheduleDraft): Record<string, unknown> {
  const now = fieldsOf(draft);
  const before = fieldsOf(loaded);
  // An emptied payload is no payload (null), as a new schedule without one has.
  if (now.payload === undefined) now.payload = null;
  const body: Record<string, unknown> = {};
  const rule = ['cron', 'timezone', 'everyMs'] as const;
  if (rule.some((key) => now[key] !== before[key])) {
    for (const key of rule) if (now[key] !== undefined) body[key] = now[key];
  }
  for (const key of Object.keys(now) as Array<keyof ScheduleFields>) {
    if ((rule as readonly string[]).includes(key) || JSON.stringify(now[key]) === JSON.stringify(before[key]))
      continue;
    if (now[key] !== undefined) body[key] = now[key];
    else if (CLEARABLE.has(key)) body[key] = null;
    else throw new FieldProblem(`${LABELS[key]} cannot be emptied once set: give a value. Nothing was sent.`);
  }
  return body;
}

/** Every IANA time zone the browser knows, for suggestions; UTC first. */
function timeZones(): string[] {
  const zones = Intl.supportedValuesOf('timeZone');
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

/**
 * Creates a schedule, or changes `schedule`. `onSaved` gets the schedule as the server stored it.
 */
export function ScheduleForm(props: { schedule?: Schedule; onSaved: (schedule: Schedule) => void }) {
  const { schedule } = props;
  const editing = schedule !== undefined;
  const loaded = useMemo(() => draftOf(schedule), []);
  const { draft, set, id, text, choice, duration } = useDraft(
    editing ? `edit-${schedule.id}` : 'new-schedule',
    () => loaded,
  );
  const { outcome, busy, submit } = useSubmit();
  const zones = useMemo(timeZones, []);

  const save = () =>
    submit(
      () => {
        const body = editing ? changes(draft, loaded) : creation(draft);
        return Object.keys(body).length === 0 ? 'Nothing changed.' : body;
      },
      (body) =>
        editing
          ? api<{ schedule: Schedule }>('PATCH', `/schedules/${encodeURIComponent(schedule.id)}`, body)
          : api<{ schedule: Schedule }>('POST', '/schedules', body),
      (reply) => {
        props.onSaved(reply.schedule);
        return null;
      },
      (error) => {
        const taken = !editing && error instanceof ApiFailure && error.status === 409;
        return `${refusal(error)}${taken ? '. Pick another id, or edit that schedule.' : ''}`;
      },
    );

  return (
    <form
      class={editing ? 'entry' : 'entry card'}
      aria-label={editing ? `Edit schedule ${schedule.id}` : 'New schedule'}
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      {!editing && <h2>New schedule</h2>}
      <div class="form-grid">
        {!editing && (
          <TextField
            label="Id"
            {...text('id')}
            required
            placeholder="nightly-export"
            hint="Letters, digits, . _ : - (it cannot change later)"
          />
        )}
        <TextField
          label="Task"
          {...text('task')}
          required
          placeholder="orders.export"
          hint="A task the server knows"
        />
        <SelectField
          label="Rule"
          {...choice('rule')}
          options={[
            { value: 'cron', label: 'cron expression' },
            { value: 'every', label: 'fixed interval' },
          ]}
        />
        {draft.rule === 'cron' ? (
          <>
            <TextField
              label="Cron expression"
              {...text('cron')}
              required
              mono
              placeholder="0 6 * * 1-5"
              hint="5 fields, or 6 with seconds first"
            />
            <TextField
              label="Time zone"
              {...text('timezone')}
              list={id('zones')}
              hint="IANA name the cron reads in"
            />
            <datalist id={id('zones')}>
              {zones.map((zone) => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
          </>
        ) : (
          <DurationField
            label="Every"
            {...duration('every', 'everyUnit')}
            required
            placeholder="15"
            hint="At least 100 ms; slots fall on multiples of it since 1970 (UTC)"
          />
        )}
        <SelectField
          label="Overlap"
          {...choice('overlap')}
          options={OVERLAP_OPTIONS}
          hint="When a slot comes while the last run is still active"
        />
        <SelectField
          label="Catch-up"
          {...choice('catchUp')}
          options={CATCH_UP_OPTIONS}
          hint="Slots missed while no scheduler ran"
        />
        {draft.catchUp === 'all' && (
          <TextField
            label="Catch-up limit"
            {...text('catchUpLimit')}
            placeholder="10"
            hint="Most missed slots run after one outage"
          />
        )}
        <JsonField
          label="Payload (JSON)"
          {...text('payload')}
          hint="Each run's job gets it; checked against the task's schema. Empty for none."
        />
      </div>
      <MoreOptions>
        <TextField label="Queue" {...text('queue')} placeholder="the task's" />
        <TextField label="Priority" {...text('priority')} placeholder="the task's" hint="Higher runs first" />
        <DurationField
          label="Jitter"
          {...duration('jitter', 'jitterUnit')}
          placeholder="0"
          hint="Each slot's job is due up to this much later"
        />
        <TextField
          label="Suspend after failures"
          {...text('maxConsecutiveFailures')}
          placeholder="never"
          hint="Failed runs in a row before it stops until resumed"
        />
        <TextField
          label="Drain runs per slot"
          {...text('maxDrainRuns')}
          placeholder="10"
          hint="Most { again: true } runs a slot may ask for"
        />
      </MoreOptions>
      {!editing && (
        <CheckboxField
          id={id('paused')}
          label="Create it paused"
          checked={draft.paused}
          onChange={(v) => set('paused', v)}
        />
      )}
      <SubmitRow outcome={outcome} busy={busy} label={editing ? 'Save schedule' : 'Create schedule'} />
    </form>
  );
}
