/**
 * Limits (docs/TENANCY.md): queues with a cluster-wide limit or rate, concurrency keys and groups of
 * fairly claimed jobs, each with what runs now against its limit or weight. Keys and groups page by
 * name with the API's `after` cursor. Operators set and remove a queue's or a key's limit and rate, a
 * group's weight, and limit a queue not listed yet (limit-forms.tsx).
 */
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useApp } from '../app-context.js';
import { Outcome, Problem, useAction, useLoad } from '../components.js';
import { duration } from '../format.js';
import type { ConcurrencyKey, JobGroup, QueueLimit, StartRate } from '../types.js';
import { NumberForm, QueueLimitForm, useLimitActions, type Run } from './limit-forms.js';

const PAGE_SIZE = 50;

export function LimitsPage() {
  const action = useAction();
  return (
    <section aria-labelledby="limits-title">
      <h1 id="limits-title">Limits</h1>
      <Outcome text={action.outcome?.text ?? null} error={action.outcome?.error ?? false} />
      {/* Each part in its own card, as on the overview and the Workers page. */}
      <QueueLimits run={action.run} />
      <ConcurrencyKeys run={action.run} />
      <Groups run={action.run} />
    </section>
  );
}

function QueueLimits(props: { run: Run }) {
  const { canOperate } = useApp();
  const [adding, setAdding] = useState(false);
  const queues = useLoad(() => api<{ queues: QueueLimit[] }>('GET', '/limits/queues'), []);
  const actions = useLimitActions('Queue', props.run, queues.reload);
  const list = queues.data?.queues ?? [];
  return (
    <section aria-labelledby="limits-queues-title" class="card">
      <h2 id="limits-queues-title">Queues</h2>
      <Problem error={queues.error} what="the queue limits" />
      {queues.data !== undefined && list.length === 0 && (
        <p class="hint">
          No queue has a cluster-wide limit or rate. Set one with {canOperate && 'Limit a queue below, '}
          <code>ns.setQueueLimit('queue', 10)</code> or <code>PUT /api/v1/limits/queues/:name</code>.
        </p>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Queue limits" class="stack">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col" class="num">
                  Running / limit
                </th>
                <th scope="col">Rate</th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((queue) => (
                <tr key={queue.queue}>
                  <th scope="row" class="name row-name">
                    {queue.queue}
                  </th>
                  <td class="num row-aside" data-label="Running / limit">
                    {queue.running} / {queue.limit ?? 'none'}
                  </td>
                  <td data-label="Rate">{rate(queue.rate)}</td>
                  {actions(queue.queue, queue.limit, queue.rate)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canOperate && (
        <>
          <p class="hint">
            A queue's <code>concurrency</code> or <code>rate</code> in a config's <code>queues</code> is
            written again whenever a process connects with that config (<code>nightshift start</code>,{' '}
            <code>worker</code>, <code>scheduler</code>, <code>serve</code> or <code>migrate</code>),
            replacing what is set here.
          </p>
          <button type="button" aria-expanded={adding} onClick={() => setAdding(!adding)}>
            Limit a queue
          </button>
          {adding && <QueueLimitForm onSaved={queues.reload} />}
        </>
      )}
    </section>
  );
}

function ConcurrencyKeys(props: { run: Run }) {
  const { canOperate } = useApp();
  const [runningOnly, setRunningOnly] = useState(false);
  const [pages, setPages] = useState(1);
  const keys = useLoad(
    () => loadPages<ConcurrencyKey>('/limits/keys', 'keys', runningOnly, pages, (row) => row.key),
    [runningOnly, pages],
  );
  const actions = useLimitActions('Key', props.run, keys.reload);
  const list = keys.data?.rows ?? [];
  return (
    <section aria-labelledby="limits-keys-title" class="card">
      <h2 id="limits-keys-title">Concurrency keys</h2>
      <label class="toggle">
        <input
          type="checkbox"
          checked={runningOnly}
          onChange={(e) => {
            setRunningOnly(e.currentTarget.checked);
            setPages(1);
          }}
        />{' '}
        Running only
      </label>
      <Problem error={keys.error} what="the concurrency keys" />
      {keys.data !== undefined && list.length === 0 && (
        <p class="hint">
          {runningOnly
            ? 'No key has running jobs.'
            : 'No concurrency key yet. Enqueue with the options concurrencyKey and concurrencyLimit to cap the running jobs of a key cluster-wide.'}
        </p>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Concurrency keys" class="stack">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col" class="num">
                  Running / limit
                </th>
                <th scope="col" class="num">
                  Operator limit
                </th>
                <th scope="col">Rate</th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((key) => (
                <tr key={key.key}>
                  <th scope="row" class="mono name row-name">
                    {key.key}
                  </th>
                  <td class="num row-aside" data-label="Running / limit">
                    {key.running} / {key.limit ?? '–'}
                  </td>
                  <td class="num" data-label="Operator limit">
                    {key.operatorLimit ?? '–'}
                  </td>
                  <td data-label="Rate">{rate(key.rate)}</td>
                  {actions(key.key, key.operatorLimit, key.rate)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {keys.data?.more === true && (
        <nav class="pager" aria-label="More keys">
          <button type="button" onClick={() => setPages(pages + 1)}>
            More keys
          </button>
        </nav>
      )}
    </section>
  );
}

function Groups(props: { run: Run }) {
  const { canOperate } = useApp();
  const [pages, setPages] = useState(1);
  const [editing, setEditing] = useState<string | null>(null);
  const groups = useLoad(
    () => loadPages<JobGroup>('/limits/groups', 'groups', false, pages, (row) => row.group),
    [pages],
  );
  const list = groups.data?.rows ?? [];
  return (
    <section aria-labelledby="limits-groups-title" class="card">
      <h2 id="limits-groups-title">Groups</h2>
      <Problem error={groups.error} what="the groups" />
      {groups.data !== undefined && list.length === 0 && (
        <p class="hint">
          No group has ready or running jobs or a weight. Enqueue with the option <code>group</code> to share
          a queue fairly between tenants; a weight gives a group more turns.
        </p>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table aria-label="Groups" class="stack">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col" class="num">
                  Weight
                </th>
                <th scope="col" class="num">
                  Ready
                </th>
                <th scope="col" class="num">
                  Running
                </th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((group) => (
                <tr key={group.group}>
                  <th scope="row" class="mono name row-name">
                    {group.group}
                  </th>
                  <td class="num weight" data-label="Weight">
                    {group.weight}
                  </td>
                  <td class="num ready" data-label="Ready">
                    {group.queued}
                  </td>
                  <td class="num running" data-label="Running">
                    {group.running}
                  </td>
                  {canOperate && (
                    <td class="buttons">
                      {editing === group.group ? (
                        <NumberForm
                          label={`Weight of group ${group.group}`}
                          initial={group.weight}
                          max={10_000}
                          clearLabel="Reset to 1"
                          onCancel={() => setEditing(null)}
                          onSave={(weight) =>
                            props.run(async () => {
                              await api('PUT', `/limits/groups/${encodeURIComponent(group.group)}`, {
                                weight,
                              });
                              setEditing(null);
                              groups.reload();
                              return `Group ${group.group}: weight ${weight ?? 'reset to 1'}.`;
                            })
                          }
                        />
                      ) : (
                        <button
                          type="button"
                          aria-label={`Set the weight of group ${group.group}`}
                          onClick={() => setEditing(group.group)}
                        >
                          Set weight
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {groups.data?.more === true && (
        <nav class="pager" aria-label="More groups">
          <button type="button" onClick={() => setPages(pages + 1)}>
            More groups
          </button>
        </nav>
      )}
    </section>
  );
}

/**
 * The first `pages` pages of a list the API pages by name with `after`: each request asks one row
 * more than a page, so the last page knows whether another follows.
 */
async function loadPages<T>(
  path: string,
  field: string,
  runningOnly: boolean,
  pages: number,
  nameOf: (row: T) => string,
): Promise<{ rows: T[]; more: boolean }> {
  const rows: T[] = [];
  let after: string | undefined;
  for (let page = 0; page < pages; page++) {
    const answer = await api<Record<string, T[]>>(
      'GET',
      `${path}${query({ running: runningOnly ? 'true' : undefined, after, limit: PAGE_SIZE + 1 })}`,
    );
    const list = answer[field] ?? [];
    const shown = list.slice(0, PAGE_SIZE);
    rows.push(...shown);
    const last = shown.at(-1);
    if (list.length <= PAGE_SIZE || last === undefined) return { rows, more: false };
    after = nameOf(last);
  }
  return { rows, more: true };
}

/** "10 / 1.0 min" for a rate of starts; "–" for none. */
function rate(value: StartRate | null): string {
  return value === null ? '–' : `${value.limit} / ${duration(value.periodMs)}`;
}
