/**
 * The task catalog (GET /api/v1/tasks): the tasks the server declares and those live workers
 * implement, for the Tasks page and the Enqueue job form, with the live workers (GET
 * /api/v1/workers) the form judges a queue by. A worker that registers or stops writes no event, so
 * a page showing either reads it again every few seconds as well as on live events.
 */
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { useLoad, type Loaded } from './components.js';
import type { TaskCatalogEntry, Worker } from './types.js';

// A worker's heartbeat interval by default: a worker that starts shows within about that long.
const READ_AGAIN_MS = 5_000;

/** The catalog, read now, on live events, and every READ_AGAIN_MS while the caller is shown. */
export function useTaskCatalog(): Loaded<{ tasks: TaskCatalogEntry[] }> {
  return useReadAgain(useLoad(() => api<{ tasks: TaskCatalogEntry[] }>('GET', '/tasks'), []));
}

/** The live workers, read as the catalog is. */
export function useLiveWorkers(): Loaded<{ workers: Worker[] }> {
  return useReadAgain(useLoad(() => api<{ workers: Worker[] }>('GET', '/workers'), []));
}

function useReadAgain<T>(loaded: Loaded<T>): Loaded<T> {
  const { reload } = loaded;
  useEffect(() => {
    const timer = setInterval(reload, READ_AGAIN_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return loaded;
}

/** The live workers that would run a job of `task` in `queue`: they implement it and claim from it. */
export function workersFor(task: string, queue: string, workers: Worker[]): Worker[] {
  return workers.filter(
    (worker) => worker.tasks.includes(task) && (worker.queues === null || worker.queues.includes(queue)),
  );
}

/** A declared task whose jobs would wait: no live worker implements it. */
export function unserved(task: TaskCatalogEntry): boolean {
  return task.declared && task.workers.length === 0;
}
