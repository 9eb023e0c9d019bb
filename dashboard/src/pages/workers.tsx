/**
 * Workers: each live worker with its queues, labels, the tasks it implements, load and heartbeat age;
 * stuck jobs from the alerts.
 */
import { api } from '../api.js';
import { NameList, Problem, useLoad } from '../components.js';
import { relative } from '../format.js';
import { useRedrawWhenChanged } from '../redraw.js';
import type { Worker } from '../types.js';
import { Alerts } from './overview.js';

// A worker heartbeats every 5 s by default; no event marks a heartbeat. The list is read again when
// the newest heartbeat it shows turns this old, so a worker still beating is not seen ageing on a quiet
// cluster, while one that stopped is: its age grows past this, and it leaves the list once its last
// beat is older than its bound (30 s, or its longer `staleMs`; at a read another live worker's
// heartbeat brings, or a live event).
const READ_AGAIN_AFTER_HEARTBEAT_MS = 10_000;

/** When (this browser's clock) the first heartbeat shown that is younger than the bound turns that old. */
function heartbeatGoesStale(workers: readonly Worker[]): number | null {
  const now = Date.now();
  let soonest: number | null = null;
  for (const worker of workers) {
    const at = Date.parse(worker.heartbeatAt) + READ_AGAIN_AFTER_HEARTBEAT_MS;
    if (at > now && (soonest === null || at < soonest)) soonest = at;
  }
  return soonest;
}

export function WorkersPage() {
  const workers = useLoad(
    () => api<{ workers: Worker[] }>('GET', '/workers'),
    [],
    (data) => heartbeatGoesStale(data.workers),
  );
  const list = workers.data?.workers ?? [];
  // The start and heartbeat ages read relative to now: drawn again when one would read differently, so
  // a heartbeat that stopped is seen ageing on an open page.
  const now = useRedrawWhenChanged(
    list.map(
      (worker) => (at: number) => `${relative(worker.startedAt, at)}\n${relative(worker.heartbeatAt, at)}`,
    ),
  );
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      {/* Each part in its own card, as on the overview and a job's page. */}
      <section aria-labelledby="workers-running-title" class="card">
        <h2 id="workers-running-title">Running now</h2>
        <Problem error={workers.error} what="the worker list" />
        {workers.data !== undefined && list.length === 0 && <p>No worker is running.</p>}
        {list.length > 0 && (
          <div class="scroll">
            <table aria-label="Workers" class="stack">
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col">Host / pid</th>
                  <th scope="col">Queues</th>
                  <th scope="col">Labels</th>
                  <th scope="col">Tasks</th>
                  <th scope="col" class="num">
                    Running
                  </th>
                  <th scope="col">Started</th>
                  <th scope="col">Heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {list.map((worker) => (
                  <tr key={worker.id}>
                    <th scope="row" class="mono name row-name">
                      {worker.id}
                    </th>
                    <td data-label="Host / pid">
                      {worker.host} / {worker.pid}
                    </td>
                    <td class="name" data-label="Queues">
                      {worker.queues === null ? 'all' : worker.queues.join(', ')}
                    </td>
                    <td class="name" data-label="Labels">
                      {worker.labels.length === 0 ? '–' : worker.labels.join(', ')}
                    </td>
                    <td class="name" data-label="Tasks">
                      <NameList names={worker.tasks} noun={{ one: 'task', many: 'tasks' }} empty="–" />
                    </td>
                    <td class="num" data-label="Running">
                      {worker.running} / {worker.concurrency}
                    </td>
                    <td title={worker.startedAt} data-label="Started">
                      {relative(worker.startedAt, now)}
                    </td>
                    <td title={worker.heartbeatAt} data-label="Heartbeat">
                      {relative(worker.heartbeatAt, now)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {/* A div, not a section: the alerts are the region named "Stuck jobs". */}
      <div class="card">
        <h2>Stuck jobs</h2>
        <Alerts kinds={['stuck_job', 'max_duration']} title="Stuck jobs" />
      </div>
    </section>
  );
}
