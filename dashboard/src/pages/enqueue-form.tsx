/**
 * Enqueues one job (POST /jobs) with the options a person sets by hand: task, payload, queue,
 * priority, when it is due, idempotency key, attempts, timeout, concurrency key and limit, required
 * labels and group. The task is picked from those the server declares (the task catalog,
 * enqueue-task.tsx: it shows the task's defaults, payload schema, and whether a worker runs it).
 * Fields that cannot be read (payload JSON, numbers, a date) stop the form before any request; the
 * server's refusal (a payload its schema refuses) is shown beside the button, the form keeping what
 * was typed. On success it links to the job, or says that the idempotency key named an existing one.
 */
import { api } from '../api.js';
import { Link } from '../components.js';
import {
  DurationField,
  FieldProblem,
  JsonField,
  MoreOptions,
  SelectField,
  SubmitRow,
  TextField,
  durationOf,
  integerOf,
  jsonOf,
  useDraft,
  useSubmit,
  type Unit,
} from '../forms.js';
import { useLiveWorkers, useTaskCatalog } from '../task-catalog.js';
import type { Job } from '../types.js';
import { PayloadSchemaHelp, taskDefaults, TaskSelect } from './enqueue-task.js';

type EnqueueDraft = {
  task: string;
  payload: string;
  queue: string;
  priority: string;
  start: 'now' | 'delay' | 'at';
  delay: string;
  delayUnit: Unit;
  runAt: string;
  idempotencyKey: string;
  maxAttempts: string;
  timeout: string;
  timeoutUnit: Unit;
  concurrencyKey: string;
  concurrencyLimit: string;
  requires: string;
  group: string;
};

const EMPTY: EnqueueDraft = {
  task: '',
  payload: '',
  queue: '',
  priority: '',
  start: 'now',
  delay: '',
  delayUnit: 'min',
  runAt: '',
  idempotencyKey: '',
  maxAttempts: '',
  timeout: '',
  timeoutUnit: 's',
  concurrencyKey: '',
  concurrencyLimit: '',
  requires: '',
  group: '',
};

/** The request body: every field filled in; throws FieldProblem for one that cannot be read. */
function bodyOf(draft: EnqueueDraft): Record<string, unknown> {
  // The select asks for one; with no task declared there is none to pick.
  if (draft.task === '') throw new FieldProblem('Pick a task the server declares. Nothing was sent.');
  const body: Record<string, unknown> = {
    task: draft.task,
    payload: jsonOf('The payload', draft.payload),
    queue: draft.queue.trim() || undefined,
    priority: integerOf('Priority', draft.priority),
    delayMs: draft.start === 'delay' ? durationOf('Delay', draft.delay, draft.delayUnit) : undefined,
    runAt: draft.start === 'at' ? instantOf(draft.runAt) : undefined,
    idempotencyKey: draft.idempotencyKey.trim() || undefined,
    maxAttempts: integerOf('Max attempts', draft.maxAttempts),
    timeoutMs: durationOf('Timeout', draft.timeout, draft.timeoutUnit),
    concurrencyKey: draft.concurrencyKey.trim() || undefined,
    concurrencyLimit: integerOf('Concurrency limit', draft.concurrencyLimit),
    // Labels never hold whitespace or commas, so either separates them.
    requires: draft.requires.trim() === '' ? undefined : draft.requires.split(/[\s,]+/).filter(Boolean),
    group: draft.group.trim() || undefined,
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/** A local date and time from the picker, as the API's ISO instant. */
function instantOf(local: string): string {
  const at = new Date(local);
  if (local === '' || Number.isNaN(at.getTime()))
    throw new FieldProblem('Run at needs a date and time. Nothing was sent.');
  return at.toISOString();
}

/** What POST /jobs answered: a new job (201), or the one its idempotency key already named (200). */
interface EnqueueReply {
  id: string;
  created: boolean;
  job: Job;
}

function Enqueued(props: { reply: EnqueueReply }) {
  const { id, created, job } = props.reply;
  const link = <Link to={`/jobs/${encodeURIComponent(id)}`}>{`Open job ${id}`}</Link>;
  if (created)
    return (
      <>
        Enqueued {job.task} on queue {job.queue} ({job.state}). {link}
      </>
    );
  return (
    <>
      A job with idempotency key {job.idempotencyKey ?? ''} already existed ({job.state}): nothing new was
      enqueued. {link}
    </>
  );
}

export function EnqueueForm(props: { onEnqueued: () => void }) {
  const { draft, id, text, choice, duration } = useDraft('enqueue', () => EMPTY);
  const { outcome, busy, submit } = useSubmit();
  const catalog = useTaskCatalog();
  const workers = useLiveWorkers();
  const declared = catalog.data?.tasks.filter((task) => task.declared);
  const picked = declared?.find((task) => task.name === draft.task);
  const defaults = taskDefaults(picked);
  const enqueue = () =>
    submit(
      () => bodyOf(draft),
      (body) => api<EnqueueReply>('POST', '/jobs', body),
      (reply) => {
        props.onEnqueued();
        return <Enqueued reply={reply} />;
      },
    );
  return (
    <form
      class="entry card"
      aria-label="Enqueue job"
      onSubmit={(e) => {
        e.preventDefault();
        enqueue();
      }}
    >
      <h2>Enqueue job</h2>
      <div class="form-grid">
        <TaskSelect
          {...text('task')}
          tasks={declared}
          picked={picked}
          queue={draft.queue.trim() || (picked?.queue ?? '')}
          workers={workers.data?.workers}
          error={catalog.error}
        />
        <TextField label="Queue" {...text('queue')} placeholder={defaults.queue} />
        <TextField
          label="Priority"
          {...text('priority')}
          placeholder={defaults.priority}
          hint="Higher runs first"
        />
        <SelectField
          label="Due"
          {...choice('start')}
          options={[
            { value: 'now', label: 'now' },
            { value: 'delay', label: 'after a delay' },
            { value: 'at', label: 'at a date and time' },
          ]}
        />
        {draft.start === 'delay' && (
          <DurationField label="Delay" {...duration('delay', 'delayUnit')} required />
        )}
        {draft.start === 'at' && (
          <div class="field">
            <label for={id('runAt')}>Run at</label>
            <input
              id={id('runAt')}
              type="datetime-local"
              step={1}
              required
              value={draft.runAt}
              onInput={(e) => text('runAt').onInput(e.currentTarget.value)}
            />
            <p class="hint">This browser's time zone</p>
          </div>
        )}
        <TextField
          label="Idempotency key"
          {...text('idempotencyKey')}
          hint="A second enqueue with this key returns the first job"
        />
        <TextField label="Max attempts" {...text('maxAttempts')} placeholder={defaults.maxAttempts} />
        <JsonField
          label="Payload (JSON)"
          {...text('payload')}
          hint="Checked against the task's schema. Empty for none."
        />
        {picked !== undefined && <PayloadSchemaHelp task={picked} {...text('payload')} />}
      </div>
      <MoreOptions>
        <DurationField
          label="Timeout"
          {...duration('timeout', 'timeoutUnit')}
          placeholder={defaults.timeout}
          hint="An attempt running longer is aborted"
        />
        <TextField
          label="Concurrency key"
          {...text('concurrencyKey')}
          hint="Caps the running jobs sharing it, cluster-wide"
        />
        <TextField
          label="Concurrency limit"
          {...text('concurrencyLimit')}
          placeholder="the task's, else 1"
          hint="Running jobs allowed per key"
        />
        <TextField
          label="Required labels"
          {...text('requires')}
          placeholder="region:eu, gpu"
          hint="A worker must offer them all to claim it"
        />
        <TextField label="Group" {...text('group')} hint="The tenant it is claimed fairly within" />
      </MoreOptions>
      <SubmitRow outcome={outcome} busy={busy} label="Enqueue" />
    </form>
  );
}
