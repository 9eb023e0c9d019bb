/**
 * The task catalog (GET /api/v1/tasks): the tasks the server declares and those live workers
 * implement, for the Tasks page and the Enqueue job form. A worker that registers or stops writes no
 * event, so a page showing the catalog reads it again every few seconds as well as on live events.
 */
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { useLoad, type Loaded } from './components.js';
import type { TaskCatalogEntry } from './types.js';

// A worker's heartbeat interval by default: a worker that starts shows within about that long.
const READ_AGAIN_MS = 5_000;

/** The catalog, read now, on live events, and every READ_AGAIN_MS while the caller is shown. */
export function useTaskCatalog(): Loaded<{ tasks: TaskCatalogEntry[] }> {
  const catalog = useLoad(() => api<{ tasks: TaskCatalogEntry[] }>('GET', '/tasks'), []);
  const { reload } = catalog;
  useEffect(() => {
    const timer = setInterval(reload, READ_AGAIN_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return catalog;
}

/** A declared task whose jobs would wait: no live worker implements it. */
export function unserved(task: TaskCatalogEntry): boolean {
  return task.declared && task.workers.length === 0;
}
