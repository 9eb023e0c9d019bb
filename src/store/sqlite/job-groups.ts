/**
 * Fair claiming in SQLite (docs/TENANCY.md): the grouped part of a claim. Runs inside the claim's
 * write transaction, after the ungrouped jobs took their places, so the cursor, the queues' state
 * and the keys' counts cannot change under it.
 *
 * The walk starts at the cursor of the claim's queues and visits the ready (queue, group) pairs in
 * order, wrapping round once, one statement per pair: each lands on the pair's head (its next job in
 * claim order). A pair counts when its queue may be claimed from (not paused, not full, among the
 * claim's queues) and its head may start now (due, its key open); pairs of other queues are jumped
 * over a queue at a time. The walk stops once the counted pairs' turns cover the places, or when it
 * is back at its start: then it holds every ready pair and the deal goes round it again
 * (fair-turns.ts). A pair dealt one turn starts its head; a pair dealt more reads that many of its
 * jobs.
 */
import { dealTurns, groupCursorKey, type GroupCursor, type PairVisit } from '../fair-turns.js';
import type { JobClaimParams } from '../store.js';
import type { SqliteConnection } from './connection.js';
import type { LimitedCandidate } from './limits.js';
import * as sql from './sql/job-groups.js';

/** A grouped job the claim may start. */
export interface GroupedCandidate extends LimitedCandidate {
  id: string;
  priority: number;
  run_at: number;
  group: string;
}

interface Head extends GroupedCandidate {
  weight: number;
  open: number;
}

/**
 * Up to `places` grouped jobs in turn order, the cursor moved past the turns dealt, and whether the
 * groups had fewer jobs to start than turns. The cursor moves whether or not the jobs are then
 * admitted: a turn lost to a limit is not dealt again.
 */
export function groupedJobs(
  conn: SqliteConnection,
  params: JobClaimParams,
  now: number,
  places: number,
): { jobs: GroupedCandidate[]; short: boolean } {
  const { any } = conn.stmt(sql.jobClaimGroupAny).get() as { any: number };
  if (any === 0) return { jobs: [], short: false };
  const queueSet = groupCursorKey(params.queues);
  const closed = new Set(
    (conn.stmt(sql.jobClaimGroupClosedQueues).all({ now }) as Array<{ queue: string }>).map((r) => r.queue),
  );
  const wanted = params.queues === undefined ? null : new Set(params.queues);
  const claimable = (queue: string): boolean => !closed.has(queue) && (wanted === null || wanted.has(queue));
  const cursor = conn.stmt(sql.jobClaimGroupCursor).get({ queueSet }) as GroupCursor | undefined;

  const heads: Head[] = [];
  let used = 0;
  let covered = 0;
  const visit = (head: Head, turnsUsed: number): void => {
    heads.push(head);
    covered += Math.min(head.weight - turnsUsed, places);
  };
  // The cursor's pair first, when its visit has turns left.
  let startsAtCursor = false;
  if (cursor !== undefined && claimable(cursor.queue)) {
    const head = conn.stmt(sql.jobClaimGroupHead).get({ ...cursor, now }) as Head | undefined;
    if (head !== undefined && head.open !== 0 && cursor.used < head.weight) {
      visit(head, cursor.used);
      used = cursor.used;
      startsAtCursor = true;
    }
  }
  let position = { queue: cursor?.queue ?? '', group: cursor?.group ?? '' };
  let wrapped = false;
  let complete = false;
  while (covered < places) {
    const sameQueue = position.queue !== '' && claimable(position.queue);
    let head = (sameQueue ? conn.stmt(sql.jobClaimGroupNextInQueue).get({ ...position, now }) : undefined) as
      Head | undefined;
    head ??= conn.stmt(sql.jobClaimGroupNextQueue).get({ queue: position.queue, now }) as Head | undefined;
    if (head === undefined) {
      if (wrapped || cursor === undefined) {
        complete = true;
        break;
      }
      wrapped = true;
      head = conn.stmt(sql.jobClaimGroupNextQueue).get({ queue: '', now }) as Head | undefined;
      if (head === undefined) {
        complete = true;
        break;
      }
    }
    if (wrapped && cursor !== undefined) {
      // Back at the start: the cursor's pair ends the round unless it opened it.
      const order = comparePairs(head, cursor);
      if (order > 0 || (order === 0 && startsAtCursor)) {
        complete = true;
        break;
      }
    }
    position = { queue: head.queue, group: head.group };
    if (claimable(head.queue) && head.open !== 0) visit(head, 0);
  }

  const cycle: PairVisit[] = heads.map((h) => ({ queue: h.queue, group: h.group, weight: h.weight }));
  const deal = dealTurns(cycle, used, places, complete);
  if (deal.cursor !== null) conn.stmt(sql.jobClaimGroupCursorSet).run({ queueSet, ...deal.cursor });
  const jobs: GroupedCandidate[] = [];
  let dealt = 0;
  heads.forEach((head, i) => {
    const turns = deal.turns[i] as number;
    dealt += turns;
    if (turns === 1) jobs.push(candidate(head));
    else if (turns > 1) {
      jobs.push(
        ...(conn.stmt(sql.jobClaimGroupReadySelect).all({
          queue: head.queue,
          group: head.group,
          now,
          limit: turns,
        }) as GroupedCandidate[]),
      );
    }
  });
  return { jobs, short: jobs.length < dealt };
}

function candidate(head: Head): GroupedCandidate {
  const { weight: _weight, open: _open, ...job } = head;
  return job;
}

/** (queue, group) order as SQLite's BINARY collation has it: the bytes of the UTF-8 encodings. */
function comparePairs(a: { queue: string; group: string }, b: { queue: string; group: string }): number {
  return (
    Buffer.compare(Buffer.from(a.queue), Buffer.from(b.queue)) ||
    Buffer.compare(Buffer.from(a.group), Buffer.from(b.group))
  );
}
