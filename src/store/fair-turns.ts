/**
 * Weighted turns between groups (docs/TENANCY.md, "Fair claiming"): deficit round robin over the
 * ready (queue, group) pairs, in (queue, group) order. A visit of a pair gives it `weight` turns, one
 * job each. A claim of n places takes the next n turns after where the previous claim of the same
 * queues stopped (its cursor: the pair that had the last turn, and how many turns of that visit it
 * had), going round again while places remain, so over the claims each ready pair gets its weight in
 * turns per round, whatever the batch sizes.
 *
 * Pure: the SQLite claim walks the pairs and deals with this module (sqlite/job-groups.ts); the
 * PostgreSQL claim deals the same way inside its statement (postgres/sql/job-groups.ts), and the
 * conformance suite (test/conformance/fair-groups.ts) holds both to the same turns.
 */
import { createHash } from 'node:crypto';

/**
 * What a claim reports as `nextDueInMs` when its last deal left turns unfilled and its batch is short:
 * grouped jobs may be ready that it did not take, because the groups dealt had fewer jobs than their
 * turns (weights) in every deal it made, or, on PostgreSQL, because another claim running at the same
 * time held them. The claimer claims again this soon instead of waiting for new work, which may never
 * be announced; a short wait, not none, so that a claim still in flight can commit its jobs first.
 */
export const GROUPED_LEFT_CLAIM_MS = 20;

/** Where the turns stand for one set of queues: the pair that had the last turn, and its visit's turns. */
export interface GroupCursor {
  queue: string;
  group: string;
  used: number;
}

/** A ready pair a claim's walk found, in turn order. */
export interface PairVisit {
  queue: string;
  group: string;
  weight: number;
}

/** What a claim deals: the turns of each pair of the walk, and the cursor after the last turn. */
export interface Deal {
  turns: number[];
  cursor: GroupCursor | null;
}

/**
 * Deals `places` turns over `cycle`: the ready pairs in turn order from the cursor, the first being
 * the cursor's own pair when `used` > 0 (its visit had `used` of its turns already). When `complete`
 * the cycle holds every ready pair and the deal goes round it again while places remain; otherwise
 * the walk stopped once the pairs' turns covered the places.
 */
export function dealTurns(cycle: PairVisit[], used: number, places: number, complete: boolean): Deal {
  const turns = cycle.map(() => 0);
  if (places <= 0 || cycle.length === 0) return { turns, cursor: null };
  const starts: number[] = [];
  let total = 0;
  for (const pair of cycle) {
    starts.push(total);
    total += pair.weight;
  }
  const round = complete ? total : Infinity;
  // Turns pair i gets among the first x turns of the cycle (repeated when complete).
  const upTo = (i: number, x: number): number => {
    const weight = (cycle[i] as PairVisit).weight;
    const rounds = Number.isFinite(round) ? Math.floor(x / round) : 0;
    const rest = Number.isFinite(round) ? x % round : x;
    return rounds * weight + Math.min(Math.max(rest - (starts[i] as number), 0), weight);
  };
  const end = used + places;
  cycle.forEach((_, i) => {
    turns[i] = upTo(i, end) - upTo(i, used);
  });
  // The last turn dealt, as a position in the cycle: its pair and how many turns of that visit it had.
  const last = Number.isFinite(round) ? (end - 1) % round : end - 1;
  let j = cycle.length - 1;
  while (j > 0 && (starts[j] as number) > last) j -= 1;
  const pair = cycle[j] as PairVisit;
  return { turns, cursor: { queue: pair.queue, group: pair.group, used: last - (starts[j] as number) + 1 } };
}

/**
 * The cursor row's key for a claim's queues: '' for every queue, else a digest of the sorted names (a
 * claimer of other queues walks other pairs, so it keeps its own place in the turns).
 */
export function groupCursorKey(queues: readonly string[] | undefined): string {
  if (queues === undefined) return '';
  const names = [...new Set(queues)].sort();
  return createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 32);
}
