/**
 * Pieces the filtered, paged lists share (Jobs, Schedules): the filter form, a cursor stack that starts
 * again when the filter in the address changes, the Previous/Next pager over it, and the names a filter
 * input suggests (the queues' also for the Limits page's "Limit a queue").
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import type { Queue, TaskCatalogEntry } from './types.js';

/**
 * The cursors of the pages walked so far under the address's filter (`search`): the last one is the
 * page shown, none the first page. A new filter (applied, or back/forward in the browser) starts at its
 * first page, since a cursor continues only the list it came from.
 *
 * Next may keep what the page it leaves showed (`Kept`), and Previous hands it back as `kept`: a page
 * whose end cannot be read again as it was (the job list's page gathered by a search that was stopped)
 * is shown as it was, so the page after it starts where it ended, with no job twice and none missed.
 */
export function useCursors<Kept = never>(
  search: string,
): {
  cursor: string | undefined;
  /** What the page shown held when it was left by Next, back with Previous; undefined otherwise. */
  kept: Kept | undefined;
  previous: (() => void) | null;
  next: (nextCursor: string | null | undefined, keep?: Kept) => (() => void) | null;
  /** Back to the first page (a filter applied again as it was). */
  restart: () => void;
  /** Drops what the page shown kept, so it is read again. */
  forget: () => void;
} {
  const [walked, setWalked] = useState<{ search: string; cursors: string[]; kept: Kept[] }>({
    search,
    cursors: [],
    kept: [],
  });
  const { cursors, kept } = walked.search === search ? walked : { cursors: [], kept: [] };
  // kept[i] is page i's (page 0 the first, with no cursor); the page shown is page cursors.length.
  const shown = cursors.length;
  return {
    cursor: cursors.at(-1),
    kept: kept[shown],
    previous:
      cursors.length === 0
        ? null
        : () => setWalked({ search, cursors: cursors.slice(0, -1), kept: kept.slice(0, shown) }),
    next: (nextCursor, keep) =>
      nextCursor == null
        ? null
        : () => {
            const left = kept.slice(0, shown);
            if (keep !== undefined) left[shown] = keep;
            setWalked({ search, cursors: [...cursors, nextCursor], kept: left });
          },
    restart: () => setWalked({ search, cursors: [], kept: [] }),
    forget: () => setWalked({ search, cursors, kept: kept.slice(0, shown) }),
  };
}

/** Previous and Next page buttons; a null action disables its button. */
export function Pager(props: { previous: (() => void) | null; next: (() => void) | null }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.previous === null} onClick={() => props.previous?.()}>
        Previous page
      </button>
      <button type="button" disabled={props.next === null} onClick={() => props.next?.()}>
        Next page
      </button>
    </nav>
  );
}

/** The names of the task catalog (declared here or run by a live worker), for a Task filter to suggest. */
export async function taskNames(): Promise<string[]> {
  return (await api<{ tasks: TaskCatalogEntry[] }>('GET', '/tasks')).tasks.map((task) => task.name);
}

/** The queues that hold jobs, for a Queue input to suggest. */
export async function queueNames(): Promise<string[]> {
  return (await api<{ queues: Queue[] }>('GET', '/queues')).queues.map((queue) => queue.name);
}

/** The names an input with `list={id}` offers as the user types. */
export function Suggestions(props: { id: string; names: string[] }) {
  return (
    <datalist id={props.id}>
      {props.names.map((name) => (
        <option key={name} value={name} />
      ))}
    </datalist>
  );
}

/** The props of the input for one field of a filter form's draft. */
export type FilterField<Filter> = (key: keyof Filter & string) => {
  id: string;
  name: string;
  value: string;
  onInput: (e: Event) => void;
};

/**
 * A filter form: its inputs (`children`, given `field`) edit a draft, Apply filter hands the draft on,
 * Clear hands on `cleared`. An input's id is `idPrefix` and its field's name, for its label. The caller
 * keys it by the filter in the address, so back/forward starts a new draft.
 */
export function ListFilter<Filter extends { [Key in keyof Filter]: string }>(props: {
  label: string;
  idPrefix: string;
  filter: Filter;
  cleared: Filter;
  onApply: (filter: Filter) => void;
  children: (field: FilterField<Filter>) => ComponentChildren;
}) {
  const [draft, setDraft] = useState<Filter>(props.filter);
  const field: FilterField<Filter> = (key) => ({
    id: `${props.idPrefix}${key}`,
    name: key,
    value: draft[key],
    onInput: (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <form
      class="filters card"
      role="search"
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply(draft);
      }}
    >
      {props.children(field)}
      <div class="filter-buttons">
        <button type="submit">Apply filter</button>
        <button type="button" class="link" onClick={() => props.onApply(props.cleared)}>
          Clear
        </button>
      </div>
    </form>
  );
}

/**
 * Names for a filter input to suggest, read once when the form opens: suggestions only, so they are not
 * read again on live events, and a failed read suggests nothing (the input is free text anyway: a
 * filter may name a task of the past).
 */
export function useSuggested(read: () => Promise<string[]>): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    let shown = true;
    read().then(
      (found) => {
        if (shown) setNames(found);
      },
      () => undefined,
    );
    return () => {
      shown = false;
    };
    // Read once: `read` is a module-level function.
  }, []);
  return names;
}
