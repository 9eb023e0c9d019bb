/**
 * The Limits page's forms (docs/TENANCY.md): a table row's inline forms for a number (a limit, a
 * group's weight) and for a rate of starts, a row's Set limit / Set rate, and "Limit a queue" for a
 * queue named by hand. The numbers' inputs hold the API's bounds (src/validation/bounds.ts), so the
 * browser refuses what the server would; a rate's period is left to the server, which refuses one
 * over a day with its own message.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApp } from '../app-context.js';
import {
  DurationField,
  DurationInput,
  FieldProblem,
  SubmitRow,
  TextField,
  WholeNumberField,
  durationOf,
  durationText,
  integerOf,
  refusal,
  useDraft,
  useSubmit,
  type Unit,
} from '../forms.js';
import { duration } from '../format.js';
import { Suggestions, queueNames, useSuggested } from '../list-filter.js';
import type { StartRate } from '../types.js';

/** The most a limit of running jobs, and a rate's starts per period, may be (2^31 - 1). */
const MAX_LIMIT = 2_147_483_647;
/** The bounds of a limit's, and a rate's starts', input. */
const LIMIT_BOUNDS = { min: 1, max: MAX_LIMIT };

/** The page's way to run an action and put what it says (or its error) on the page's status line. */
export type Run = (action: () => Promise<string>) => Promise<void>;

/** "10 per 1.0 s" */
function rateText(rate: StartRate): string {
  return `${rate.limit} per ${duration(rate.periodMs)}`;
}

/** The rate typed as starts and a period; undefined with no starts. Throws FieldProblem. */
function rateOf(starts: string, period: string, unit: Unit): StartRate | undefined {
  const limit = integerOf('Starts', starts);
  if (limit === undefined) return undefined;
  const periodMs = durationOf('The period', period, unit);
  if (periodMs === undefined)
    throw new FieldProblem(
      'A rate needs its period, the time its starts are counted over. Nothing was sent.',
    );
  return { limit, periodMs };
}

/** An inline form for one positive whole number: Save sends it, the clear button sends null. */
export function NumberForm(props: {
  label: string;
  initial: number | null;
  max: number;
  clearLabel: string;
  onSave: (value: number | null) => Promise<void>;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(props.initial === null ? '' : String(props.initial));
  return (
    <InlineForm
      label={props.label}
      clearLabel={props.clearLabel}
      onSave={() => void props.onSave(Number(value))}
      onClear={() => void props.onSave(null)}
      onCancel={props.onCancel}
    >
      <input
        type="number"
        aria-label={props.label}
        min={1}
        max={props.max}
        step={1}
        required
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
    </InlineForm>
  );
}

/**
 * An inline form for a rate of starts: starts per a period (1 s when none was set). Save hands on a
 * reader of the rate typed, which throws FieldProblem for a period that is no whole number of
 * milliseconds, so that the caller's `run` shows it; Remove hands on null.
 */
function RateForm(props: {
  label: string;
  initial: StartRate | null;
  onSave: (read: () => StartRate | null) => Promise<void>;
  onCancel: () => void;
}) {
  const initialPeriod = durationText(props.initial?.periodMs ?? 1_000);
  const [starts, setStarts] = useState(props.initial === null ? '' : String(props.initial.limit));
  const [period, setPeriod] = useState(initialPeriod.text);
  const [unit, setUnit] = useState<Unit>(initialPeriod.unit);
  return (
    <InlineForm
      label={props.label}
      clearLabel="Remove"
      onSave={() => void props.onSave(() => rateOf(starts, period, unit) ?? null)}
      onClear={() => void props.onSave(() => null)}
      onCancel={props.onCancel}
    >
      <input
        type="number"
        aria-label={`${props.label}: starts`}
        {...LIMIT_BOUNDS}
        step={1}
        required
        value={starts}
        onInput={(e) => setStarts(e.currentTarget.value)}
      />
      per
      <DurationInput
        label={`${props.label}: period`}
        value={period}
        unit={unit}
        required
        onInput={setPeriod}
        onUnit={setUnit}
      />
    </InlineForm>
  );
}

/** A form in a table row: its inputs, then Save, the button that sends null (Remove, Reset to 1), Cancel. */
function InlineForm(props: {
  label: string;
  clearLabel: string;
  onSave: () => void;
  onClear: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  return (
    <form
      class="inline-number"
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave();
      }}
    >
      {props.children}
      <button type="submit">Save</button>
      <button type="button" onClick={props.onClear}>
        {props.clearLabel}
      </button>
      <button type="button" class="link" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

/** Which of a row's forms is open. */
type RowForm = 'limit' | 'rate';

/**
 * The Actions cell of the rows of a table of queues or of keys, for an operator (nothing for anyone
 * else): a function of a row's name, limit and rate. It keeps which row's form is open, one at a time.
 */
export function useLimitActions(kind: 'Queue' | 'Key', run: Run, reload: () => void) {
  const { canOperate } = useApp();
  const [editing, setEditing] = useState<{ name: string; form: RowForm } | null>(null);
  return (name: string, limit: number | null, rate: StartRate | null) =>
    canOperate && (
      <td class="buttons">
        <LimitControls
          kind={kind}
          name={name}
          limit={limit}
          rate={rate}
          open={editing?.name === name ? editing.form : null}
          onOpen={(form) => setEditing(form === null ? null : { name, form })}
          onChanged={reload}
          run={run}
        />
      </td>
    );
}

/**
 * A queue's or a key's Set limit and Set rate buttons, or the form one of them opened; a change goes
 * to the API, closes the form, reloads the table (`onChanged`) and says what it did on the page's
 * status line. A key's limit set here is its operator limit, over the jobs' own.
 */
function LimitControls(props: {
  kind: 'Queue' | 'Key';
  name: string;
  limit: number | null;
  rate: StartRate | null;
  open: RowForm | null;
  onOpen: (form: RowForm | null) => void;
  onChanged: () => void;
  run: Run;
}) {
  const { kind, name } = props;
  const what = `${kind.toLowerCase()} ${name}`;
  const path = `/limits/${kind === 'Queue' ? 'queues' : 'keys'}/${encodeURIComponent(name)}`;
  const limitName = kind === 'Key' ? 'operator limit' : 'limit';
  const save = (request: () => Promise<string>) =>
    props.run(async () => {
      const said = await request();
      props.onOpen(null);
      props.onChanged();
      return `${kind} ${name}: ${said}.`;
    });
  if (props.open === 'limit') {
    return (
      <NumberForm
        label={`Limit of ${what}`}
        initial={props.limit}
        max={MAX_LIMIT}
        clearLabel="Remove"
        onCancel={() => props.onOpen(null)}
        onSave={(limit) =>
          save(async () => {
            await api('PUT', path, { limit });
            return limit === null ? `${limitName} removed` : `${limitName} set to ${limit}`;
          })
        }
      />
    );
  }
  if (props.open === 'rate') {
    return (
      <RateForm
        label={`Rate of ${what}`}
        initial={props.rate}
        onCancel={() => props.onOpen(null)}
        onSave={(read) =>
          save(async () => {
            const rate = read();
            await api('PUT', `${path}/rate`, { rate });
            return rate === null ? 'rate removed' : `rate set to ${rateText(rate)}`;
          })
        }
      />
    );
  }
  return (
    <>
      <button type="button" aria-label={`Set the limit of ${what}`} onClick={() => props.onOpen('limit')}>
        Set limit
      </button>
      <button type="button" aria-label={`Set the rate of ${what}`} onClick={() => props.onOpen('rate')}>
        Set rate
      </button>
    </>
  );
}

type QueueLimitDraft = { queue: string; limit: string; starts: string; period: string; periodUnit: Unit };

/** What "Limit a queue" sends: a limit, a rate, or both. */
interface QueueSettings {
  queue: string;
  limit: number | undefined;
  rate: StartRate | undefined;
}

/**
 * "Limit a queue": a running limit, a rate of starts, or both, for a queue named by hand (the queues
 * holding jobs are suggested). What is left empty stays as the queue has it. The rate goes first: its
 * period is the one value the inputs leave to the server, so a refused period changes nothing. Should
 * the limit still fail after it (the server gone), the refusal says the rate was set.
 */
export function QueueLimitForm(props: { onSaved: () => void }) {
  const {
    draft,
    id,
    text,
    duration: durationProps,
  } = useDraft<QueueLimitDraft>('limit-queue', () => ({
    queue: '',
    limit: '',
    starts: '',
    period: '1',
    periodUnit: 's',
  }));
  const { outcome, busy, submit } = useSubmit();
  const queues = useSuggested(queueNames);
  const save = () => {
    // What this submission changed so far, for the line that says how it went.
    const done: string[] = [];
    submit(
      () => settingsOf(draft),
      async (body) => {
        const { queue, limit, rate } = body;
        const path = `/limits/queues/${encodeURIComponent(queue)}`;
        try {
          if (rate !== undefined) {
            await api('PUT', `${path}/rate`, { rate });
            done.push(`rate set to ${rateText(rate)}`);
          }
          if (limit !== undefined) {
            await api('PUT', path, { limit });
            done.push(`limit set to ${limit}`);
          }
        } finally {
          if (done.length > 0) props.onSaved();
        }
        return `Queue ${queue}: ${done.join(', ')}.`;
      },
      (said) => said,
      (error) => (done.length === 0 ? refusal(error) : `${refusal(error)}. Before that: ${done.join(', ')}.`),
    );
  };
  return (
    <form
      class="entry queue-limit-form"
      aria-label="Limit a queue"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <div class="form-grid">
        <TextField label="Queue" {...text('queue')} required list={id('names')} />
        <Suggestions id={id('names')} names={queues} />
        <WholeNumberField
          label="Running limit"
          {...text('limit')}
          {...LIMIT_BOUNDS}
          hint="Running jobs at most, on every worker together"
        />
        <WholeNumberField
          label="Starts"
          {...text('starts')}
          {...LIMIT_BOUNDS}
          hint="A rate: starts at most per period"
        />
        <DurationField label="Per" {...durationProps('period', 'periodUnit')} hint="Up to a day" />
      </div>
      <p class="hint">Give a running limit, a rate or both; what is left empty stays as the queue has it.</p>
      <SubmitRow outcome={outcome} busy={busy} label="Limit queue" />
    </form>
  );
}

/**
 * The draft as what "Limit a queue" sends; throws FieldProblem when there is nothing to send. The
 * queue's name goes as typed: the server refuses one it would not take (blank, edged with whitespace,
 * over 255 bytes) with its own message.
 */
function settingsOf(draft: QueueLimitDraft): QueueSettings {
  const settings: QueueSettings = {
    queue: draft.queue,
    limit: integerOf('Running limit', draft.limit),
    rate: rateOf(draft.starts, draft.period, draft.periodUnit),
  };
  if (settings.limit === undefined && settings.rate === undefined)
    throw new FieldProblem('Give a running limit, a rate (starts per period), or both. Nothing was sent.');
  return settings;
}
