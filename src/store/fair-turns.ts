/**
 * Weighted turns between groups (docs/TENANCY.md, "Fair claiming"): which groups a claim of `limit`
 * jobs takes from, and how many jobs each. Each turn goes to the group with the least virtual time,
 * which then advances by 1 / weight, so over many claims a group's share of the turns is its share of
 * the ready groups' weight. Pure: the stores read the ready groups and write the times back.
 */

/** A group with queued jobs, as its store row holds it. */
export interface ReadyGroup {
  group: string;
  weight: number;
  /** Its queued jobs: the most turns it can use. */
  queued: number;
  vtime: number;
}

/** Deals `limit` turns among `groups`; the groups in the order of their first turn, with their counts. */
export function dealTurns(groups: ReadyGroup[], limit: number): Map<string, number> {
  const times = groups.map((g) => g.vtime);
  const turns = new Map<string, number>();
  for (let dealt = 0; dealt < limit; dealt += 1) {
    let best = -1;
    groups.forEach((g, i) => {
      if ((turns.get(g.group) ?? 0) >= g.queued) return;
      if (best < 0 || (times[i] as number) < (times[best] as number)) best = i;
    });
    if (best < 0) break;
    const group = groups[best] as ReadyGroup;
    turns.set(group.group, (turns.get(group.group) ?? 0) + 1);
    times[best] = (times[best] as number) + 1 / group.weight;
  }
  return turns;
}

/**
 * A group's virtual time after a claim that dealt it turns and started `started` of its jobs: advanced
 * by what it started, or by one turn when it started none (its jobs wait on a paused or full queue, a
 * full key, or another queue than the claimer's), so a group that cannot run steps aside for the
 * others instead of taking the first turn of every claim.
 */
export function vtimeAfter(group: ReadyGroup, started: number): number {
  return group.vtime + Math.max(started, 1) / group.weight;
}
