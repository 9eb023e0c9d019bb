/**
 * A set of short-lived members held by a long-lived owner (the attempts a worker holds or runs), kept
 * in an array of slots, each member knowing its own slot.
 *
 * Why not a `Set` or a `Map` keyed by the members: V8 rebuilds a hash table that filled up with adds
 * and deletes into a new one and abandons the old. A worker's tables live long, so they sit in the old
 * generation, and an abandoned one stays there, still pointing at the members it held, until the next
 * full collection. Each minor collection meanwhile takes those pointers as live: the members and all
 * they reference (the claimed job, its payload, its promises and timers) survive, are promoted, and
 * die in the old generation, which V8 then lets grow to several times what is live. In a 150,000-job
 * drain at concurrency 100 a quarter of everything allocated was promoted so, about 1.5 KB per job;
 * the worker's RSS grew with it. A slot array abandons nothing: a member's slot is emptied when it
 * leaves, and the array only grows (to the most members held at once).
 */

/** Where a member keeps its slot in one set; -1 while it is in none. */
export interface SlotField<T> {
  get(member: T): number;
  set(member: T, slot: number): void;
}

/** Members in slots: add, delete and has in constant time, iteration in slot order. */
export class SlotSet<T extends object> implements Iterable<T> {
  private readonly members: Array<T | undefined> = [];
  private readonly free: number[] = [];
  private count = 0;

  constructor(private readonly field: SlotField<T>) {}

  get size(): number {
    return this.count;
  }

  add(member: T): void {
    if (this.has(member)) return;
    const slot = this.free.pop() ?? this.members.length;
    this.members[slot] = member;
    this.field.set(member, slot);
    this.count += 1;
  }

  /** Removes `member`; false when it was not here. */
  delete(member: T): boolean {
    if (!this.has(member)) return false;
    const slot = this.field.get(member);
    this.members[slot] = undefined;
    this.field.set(member, -1);
    this.free.push(slot);
    this.count -= 1;
    return true;
  }

  has(member: T): boolean {
    const slot = this.field.get(member);
    return slot >= 0 && this.members[slot] === member;
  }

  /** The member in `slot`, if any (a slot a member was given by `add`). */
  at(slot: number): T | undefined {
    return this.members[slot];
  }

  clear(): void {
    for (const member of this.members) if (member !== undefined) this.field.set(member, -1);
    this.members.length = 0;
    this.free.length = 0;
    this.count = 0;
  }

  /**
   * The members in slot order. One deleted during the iteration is not visited after; one added
   * during it is visited only if it took a slot not yet passed.
   */
  *[Symbol.iterator](): Iterator<T> {
    for (let slot = 0; slot < this.members.length; slot += 1) {
      const member = this.members[slot];
      if (member !== undefined) yield member;
    }
  }
}
