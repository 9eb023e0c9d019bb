/**
 * Fair claiming in SQLite (docs/TENANCY.md): the grouped part of a claim. Runs inside the claim's
 * write transaction, so the ready groups' times and counts cannot change under it.
 */
import { dealTurns, vtimeAfter, type ReadyGroup } from '../fair-turns.js';
import type { JobClaimParams } from '../store.js';
import type { SqliteConnection } from './connection.js';
import type { LimitedCandidate } from './limits.js';
import { GROUP_READY_SELECT, GROUP_SET_VTIMES, GROUPS_READY } from './sql/job-groups.js';

/** A grouped job the claim may start. */
export interface GroupedCandidate extends LimitedCandidate {
  id: string;
  group: string;
}

// Deals after the first one, for the turns of groups that had fewer claimable jobs than turns (their
// jobs wait on another queue, a paused or full queue, a full key): bounded, as each costs a walk per group.
const REDEALS = 3;

/**
 * Up to `limit` ready grouped jobs, dealt by turns between the ready groups: an index walk of the
 * first `limit` groups by virtual time, then one of each chosen group's jobs, as many as its turns.
 * Turns a group cannot use are dealt again among the others. `settle` writes the groups' times back
 * once the caller knows which of the jobs it started.
 */
export function groupedJobs(
  conn: SqliteConnection,
  params: JobClaimParams,
  now: number,
  limit: number,
): { candidates: GroupedCandidate[]; settle: (started: GroupedCandidate[]) => void } {
  const groups = conn.stmt(GROUPS_READY).all({ limit }) as ReadyGroup[];
  const queues = params.queues === undefined ? null : JSON.stringify(params.queues);
  const taken = new Map<string, GroupedCandidate[]>();
  let open = groups;
  for (let deal = 0; deal <= REDEALS && open.length > 0; deal += 1) {
    const wanted = limit - [...taken.values()].reduce((n, jobs) => n + jobs.length, 0);
    if (wanted <= 0) break;
    const turns = dealTurns(
      open.map((g) => ({
        ...g,
        queued: g.queued - (taken.get(g.group)?.length ?? 0),
        vtime: timeOf(g, taken),
      })),
      wanted,
    );
    const short = new Set<string>();
    for (const [group, count] of turns) {
      const before = taken.get(group) ?? [];
      const rows = conn
        .stmt(GROUP_READY_SELECT)
        .all({ group, now, queues, limit: before.length + count }) as Array<
        LimitedCandidate & { id: string }
      >;
      taken.set(group, [...before, ...rows.slice(before.length).map((row) => ({ ...row, group }))]);
      if (rows.length < before.length + count) short.add(group);
    }
    open = open.filter((g) => !short.has(g.group));
  }
  const candidates = [...taken.values()].flat();
  const settle = (started: GroupedCandidate[]): void => {
    const counts = new Map<string, number>();
    for (const job of started) counts.set(job.group, (counts.get(job.group) ?? 0) + 1);
    const times = groups
      .filter((group) => taken.has(group.group))
      .map((group) => [group.group, vtimeAfter(group, counts.get(group.group) ?? 0)]);
    if (times.length > 0) conn.stmt(GROUP_SET_VTIMES).run({ times: JSON.stringify(times) });
  };
  return { candidates, settle };
}

/** A group's virtual time with the jobs this claim took of it so far. */
function timeOf(group: ReadyGroup, taken: Map<string, GroupedCandidate[]>): number {
  return group.vtime + (taken.get(group.group)?.length ?? 0) / group.weight;
}
