/**
 * Pieces the filtered, paged lists share (Jobs, Schedules): a cursor stack that starts again when the
 * filter in the address changes, the Previous/Next pager over it, and the names a filter input suggests.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import type { TaskCatalogEntry } from './types.js';

/**
 * The cursors of the pages walked so far under the address's filter (`search`): the last one is the
 * page shown, none the first page. A new filter (applied, or back/forward in the browser) starts at its
 * first page, since a cursor continues only the list it came from.
 */
export function useCursors(search: string): {
  cursor: string | undefined;
  previous: (() => void) | null;
  next: (nextCursor: string | null | undefined) => (() => void) | null;
  /** Back to the first page (a filter applied again as it was). */
  restart: () => void;
} {
  const [walked, setWalked] = useState<{ search: string; cursors: string[] }>({ search, cursors: [] });
  const cursors = walked.search === search ? walked.cursors : [];
  return {
    cursor: cursors.at(-1),
    previous: cursors.length === 0 ? null : () => setWalked({ search, cursors: cursors.slice(0, -1) }),
    next: (nextCursor) =>
      nextCursor == null ? null : () => setWalked({ search, cursors: [...cursors, nextCursor] }),
    restart: () => setWalked({ search, cursors: [] }),
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
