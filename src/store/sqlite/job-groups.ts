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
 *
 * Worker labels: the grouped jobs a worker may take are those without requirements
 * (jobs_ready_group) and, for a worker with labels, those whose requirement set it meets
 * (jobs_ready_group_labels, one set after another: `sets`). Each is a stream of the same pairs in the
 * same order; every step asks each stream once and takes the first answer in (queue, group, claim)
 * order, so a pair's head is its first job this worker may take, and jobs it may not take are never
 * read. A worker without labels asks only the first stream: the walk it had before labels.
 */
import { dealTurns, groupCursorKey, type GroupCursor, type PairVisit } from '../fair-turns.js';
import type { JobClaimParams } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { toReadyCandidate, type RawReadyCandidate, type ReadyCandidate } from './job-row.js';
import * as sql from './sql/job-groups.js';

/** A grouped job the claim may start. */
export interface GroupedCandidate extends ReadyCandidate {
  group: string;
}

interface Head extends GroupedCandidate {
  weight: number;
  open: number;
}

/** A stream of grouped jobs: its statements, and the requirement set it reads (null: none). */
interface Stream {
  statements: sql.GroupStream;
  requires: string | null;
}

/**
 * Up to `places` grouped jobs in turn order, the cursor moved past the turns dealt, and whether the
 * groups had fewer jobs to start than turns. `sets`: the requirement sets among ready grouped jobs
 * that the worker meets (offeredSets in job-claim.ts; none for a worker without labels). The cursor
 * moves whether or not the jobs are then admitted: a turn lost to a limit is not dealt again.
 */
export function groupedJobs(
  conn: SqliteConnection,
  params: JobClaimParams,
  now: number,
  places: number,
  sets: readonly string[],
): { jobs: GroupedCandidate[]; short: boolean } {
  const { any } = conn.stmt(sql.jobClaimGroupAny).get() as { any: number };
  if (any === 0 && sets.length === 0) return { jobs: [], short: false };
  const streams: Stream[] = [
    { statements: sql.jobClaimGroupPlain, requires: null },
    ...sets.map((requires) => ({ statements: sql.jobClaimGroupLabeled, requires })),
  ];
  // The first head any stream answers for the step `pick` names.
  const first = (
    pick: 'head' | 'nextInQueue' | 'nextQueue',
    values: Record<string, unknown>,
  ): Head | undefined => {
    let best: Head | undefined;
    for (const stream of streams) {
      const row = conn.rawStmt(stream.statements[pick]).get(withSet(values, stream)) as RawHead | undefined;
      if (row === undefined) continue;
      const head = toHead(row);
      if (best === undefined || compareHeads(head, best) < 0) best = head;
    }
    return best;
  };
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
    const head = first('head', { ...cursor, now });
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
    let head = sameQueue ? first('nextInQueue', { ...position, now }) : undefined;
    head ??= first('nextQueue', { queue: position.queue, now });
    if (head === undefined) {
      if (wrapped || cursor === undefined) {
        complete = true;
        break;
      }
      wrapped = true;
      head = first('nextQueue', { queue: '', now });
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
      const values = { queue: head.queue, group: head.group, now, limit: turns };
      const ready = streams.flatMap((stream) =>
        (conn.rawStmt(stream.statements.ready).all(withSet(values, stream)) as RawCandidate[]).map(
          toCandidate,
        ),
      );
      jobs.push(...(streams.length === 1 ? ready : ready.sort(compareClaimOrder).slice(0, turns)));
    }
  });
  return { jobs, short: jobs.length < dealt };
}

/** A grouped job's columns as the walk's statements return them (sql/job-groups.ts), read raw. */
type RawCandidate = [...RawReadyCandidate, group: string];
/** A head's: a grouped job's, then its group's weight and whether it may start now. */
type RawHead = [...RawCandidate, weight: number, open: number];

function toCandidate(r: RawCandidate | RawHead): GroupedCandidate {
  const job = toReadyCandidate(r) as GroupedCandidate;
  job.group = r[6];
  return job;
}

function toHead(r: RawHead): Head {
  const head = toCandidate(r) as Head;
  head.weight = r[7];
  head.open = r[8];
  return head;
}

function candidate(head: Head): GroupedCandidate {
  const { weight: _weight, open: _open, ...job } = head;
  return job;
}

function withSet(values: Record<string, unknown>, stream: Stream): Record<string, unknown> {
  return stream.requires === null ? values : { ...values, requires: stream.requires };
}

/** (queue, group) order as SQLite's BINARY collation has it: the bytes of the UTF-8 encodings. */
function comparePairs(a: { queue: string; group: string }, b: { queue: string; group: string }): number {
  return (
    Buffer.compare(Buffer.from(a.queue), Buffer.from(b.queue)) ||
    Buffer.compare(Buffer.from(a.group), Buffer.from(b.group))
  );
}

/** Claim order within a pair: priority first, then due time, then id (ASCII, so bytewise). */
function compareClaimOrder(a: GroupedCandidate, b: GroupedCandidate): number {
  return b.priority - a.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The order of the walk's index entries: (queue, group), then claim order. */
function compareHeads(a: Head, b: Head): number {
  return comparePairs(a, b) || compareClaimOrder(a, b);
}
