/** Pieces the pages share: loading data, errors, "not available", confirmation, state badges. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, isUnavailable } from './api.js';
import { useApp } from './app-context.js';
import { useReloadWhenDue } from './due.js';
import { json } from './format.js';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  reload: () => void;
}

/**
 * Loads data with `load`, again when `deps` change and on every live tick (so the page follows the
 * cluster without a reload), and at the time `dueAt` finds in the data (ms since the epoch, this
 * browser's clock): when a scheduled job it shows comes due, which no event tells (due.ts). A reload
 * keeps showing the previous data until the new one arrives.
 *
 * Live ticks come every 400 ms while events flow. A tick during a load does not start another one:
 * the load runs once more when it settles, so a read slower than the ticks (a queue list counting a
 * history of millions of jobs) has one request in flight per page, not a growing pile of them. A
 * change of `deps` (a filter) or a `reload` starts at once, and what an earlier load brings is dropped.
 *
 * `load` gets a signal, aborted once what it brings would be dropped (a newer load started, or the page
 * went), to abandon its requests with; and `publish`, to show what a load of many requests has gathered
 * so far while it goes on. Data that `follows` declines (the job list's page gathered by a search of
 * many requests) is not read again on live ticks nor when due, and a tick that came during the load
 * that gave it is dropped: only `deps` or a `reload` read it again.
 */
export function useLoad<T>(
  load: (signal: AbortSignal, publish: (interim: T) => void) => Promise<T>,
  deps: unknown[],
  dueAt?: (data: T) => number | null,
  follows: (data: T) => boolean = () => true,
): Loaded<T> {
  const { liveTick } = useApp();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [manual, setManual] = useState(0);
  const latest = useRef(0);
  const loading = useRef(false);
  const tickWaits = useRef(false);
  const inFlight = useRef<AbortController | null>(null);
  // The load and `follows` of the latest render: a tick's load, started when an earlier one settles,
  // reads them.
  const current = useRef({ load, follows });
  current.current = { load, follows };
  const start = useCallback(() => {
    const call = ++latest.current;
    inFlight.current?.abort();
    const abort = new AbortController();
    inFlight.current = abort;
    loading.current = true;
    const settled = (followed: boolean): boolean => {
      if (call !== latest.current) return false;
      loading.current = false;
      if (tickWaits.current) {
        tickWaits.current = false;
        if (followed) start();
      }
      return true;
    };
    const publish = (interim: T) => {
      if (call !== latest.current) return;
      setData(interim);
      setError(undefined);
    };
    // A load that throws before it has a promise (a bad filter in the address) fails like one that
    // rejects: shown by the page, rather than ending the whole app.
    new Promise<T>((resolve) => resolve(current.current.load(abort.signal, publish))).then(
      (value) => {
        if (!settled(current.current.follows(value))) return;
        setData(value);
        setError(undefined);
      },
      (failure: unknown) => {
        if (settled(true)) setError(failure);
      },
    );
  }, []);
  // The caller lists in `deps` what `load` reads.
  useEffect(start, [...deps, manual]);
  useEffect(
    () => () => {
      latest.current += 1;
      inFlight.current?.abort();
    },
    [],
  );
  const firstTick = useRef(true);
  useEffect(() => {
    if (firstTick.current) {
      firstTick.current = false;
      return;
    }
    if (loading.current) tickWaits.current = true;
    else if (data === undefined || follows(data)) start();
  }, [liveTick]);
  const reload = useCallback(() => setManual((n) => n + 1), []);
  const followed = data !== undefined && follows(data);
  useReloadWhenDue(!followed || dueAt === undefined ? null : dueAt(data), data, reload);
  return { data, error, reload };
}

/** Shows an error, or "not available on this server" when the route does not exist there. */
export function Problem(props: { error: unknown; what: string }) {
  if (props.error === undefined) return null;
  if (isUnavailable(props.error)) {
    return (
      <p class="unavailable" role="status">
        Not available on this server: {props.what} (it needs a newer nightshift).
      </p>
    );
  }
  const message =
    props.error instanceof ApiFailure
      ? `${props.error.message} (${props.error.code})`
      : props.error instanceof Error
        ? props.error.message
        : 'an unexpected failure';
  return (
    <p class="error" role="alert">
      Could not load {props.what}: {message}
    </p>
  );
}

/** A link to a dashboard page that changes the page in place (the History API), not by a reload. */
export function Link(props: { to: string; class?: string; title?: string; children: ComponentChildren }) {
  const { navigate } = useApp();
  return (
    <a
      href={props.to}
      class={props.class}
      title={props.title}
      onClick={(e) => {
        // A modified click (new tab, new window) stays the browser's.
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

export function StateBadge(props: { state: string }) {
  return <span class={`badge state-${props.state}`}>{props.state}</span>;
}

export function JsonBlock(props: { value: unknown; label: string }) {
  return (
    <pre class="json" aria-label={props.label} tabIndex={0}>
      {json(props.value)}
    </pre>
  );
}

/** A JSON value folded under a summary, opened on demand (a task's payload schema). */
export function FoldedJson(props: { summary: string; value: unknown; label: string }) {
  return (
    <details class="folded">
      <summary>{props.summary}</summary>
      <JsonBlock value={props.value} label={props.label} />
    </details>
  );
}

/**
 * Names in a table cell, as compact whatever their number: the count (`3 tasks`), which opens to the
 * names, also in its tooltip; `empty` when there are none. A hundred long names neither widen the
 * column nor stretch the row until opened, and then scroll within the cell.
 */
export function NameList(props: {
  names: readonly string[];
  noun: { one: string; many: string };
  empty: ComponentChildren;
}) {
  const { names, noun } = props;
  if (names.length === 0) return <>{props.empty}</>;
  return (
    <details class="names" title={names.join('\n')}>
      <summary>
        {names.length} {names.length === 1 ? noun.one : noun.many}
      </summary>
      <ul>
        {names.map((name) => (
          <li key={name} class="mono">
            {name}
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * A modal confirmation: the question, then "Yes, <action>" / "No, go back". Uses <dialog> so focus and
 * Escape work as in any native dialog. The way back is never called "Cancel": asked "Cancel this job?",
 * a reader took a "Cancel" button for the one that cancels it, and the job kept running.
 */
export function Confirm(props: {
  question: string;
  confirmLabel: string;
  /** True when the action destroys or stops something (delete, cancel): its button looks dangerous. */
  danger: boolean;
  /** True while the dialog still gathers what the question needs (the confirm button waits). */
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-label={props.question} onCancel={props.onCancel}>
      <p>{props.question}</p>
      {props.children}
      <div class="actions">
        <button
          type="button"
          class={props.danger ? 'danger' : undefined}
          disabled={props.busy === true}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          No, go back
        </button>
      </div>
    </dialog>
  );
}

/**
 * A page's heading, with the button that opens and closes the page's form (New schedule, Enqueue job)
 * at its right, for a caller who may use the form.
 */
export function PageTitle(props: {
  id: string;
  title: string;
  form?: { label: string; open: boolean; onToggle: () => void } | undefined;
}) {
  const { form } = props;
  return (
    <div class="page-head">
      <h1 id={props.id}>{props.title}</h1>
      {form !== undefined && (
        <button type="button" aria-expanded={form.open} onClick={form.onToggle}>
          {form.label}
        </button>
      )}
    </div>
  );
}

/** A one-line outcome of the last action (text, or text with a link), announced to screen readers. */
export function Outcome(props: { text: ComponentChildren; error?: boolean }) {
  if (props.text === null || props.text === undefined) return null;
  return (
    <p class={props.error === true ? 'error' : 'outcome'} role={props.error === true ? 'alert' : 'status'}>
      {props.text}
    </p>
  );
}

/** Runs an action and reports its outcome (or its error) as a line of text, which may hold a link. */
export function useAction(): {
  outcome: { text: ComponentChildren; error: boolean } | null;
  run: (action: () => Promise<ComponentChildren>) => Promise<void>;
} {
  const [outcome, setOutcome] = useState<{ text: ComponentChildren; error: boolean } | null>(null);
  const run = useCallback(async (action: () => Promise<ComponentChildren>) => {
    try {
      setOutcome({ text: await action(), error: false });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      setOutcome({ text, error: true });
    }
  }, []);
  return { outcome, run };
}
