/**
 * The slot set that holds a worker's attempts (src/worker/slot-set.ts), against a plain Set as the
 * model: after any sequence of adds, deletes and clears over members that may sit in two sets at once,
 * both hold the same members, every member's slot names it, and a freed slot is given out again
 * before the array grows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotSet } from '../../src/worker/slot-set.js';

interface Member {
  name: number;
  first: number;
  second: number;
}

const firstSlot = { get: (m: Member) => m.first, set: (m: Member, slot: number) => (m.first = slot) };
const secondSlot = { get: (m: Member) => m.second, set: (m: Member, slot: number) => (m.second = slot) };

type Step = { op: 'add' | 'delete'; set: 0 | 1; member: number } | { op: 'clear'; set: 0 | 1 };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      set: fc.constantFrom(0 as const, 1 as const),
      member: fc.nat(19),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('delete' as const),
      set: fc.constantFrom(0 as const, 1 as const),
      member: fc.nat(19),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('clear' as const), set: fc.constantFrom(0 as const, 1 as const) }),
  },
);

describe('SlotSet', () => {
  it('holds what a Set would, in two sets at once, each member knowing its slot', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const members = Array.from({ length: 20 }, (_, name): Member => ({ name, first: -1, second: -1 }));
        const sets = [new SlotSet(firstSlot), new SlotSet(secondSlot)] as const;
        const models = [new Set<Member>(), new Set<Member>()] as const;
        const fields = [firstSlot, secondSlot] as const;
        for (const s of steps) {
          const set = sets[s.set];
          const model = models[s.set];
          if (s.op === 'clear') {
            set.clear();
            model.clear();
          } else if (s.op === 'add') {
            set.add(members[s.member] as Member);
            model.add(members[s.member] as Member);
          } else {
            const member = members[s.member] as Member;
            expect(set.delete(member)).toBe(model.delete(member));
          }
          for (const i of [0, 1] as const) {
            expect(sets[i].size).toBe(models[i].size);
            expect(new Set(sets[i])).toEqual(models[i]);
            for (const member of members) {
              const slot = fields[i].get(member);
              expect(sets[i].has(member)).toBe(models[i].has(member));
              if (models[i].has(member)) expect(sets[i].at(slot)).toBe(member);
              else expect(slot).toBe(-1);
            }
          }
        }
      }),
    );
  });

  it('gives a freed slot out again before it grows', () => {
    const set = new SlotSet(firstSlot);
    const [a, b, c] = [0, 1, 2].map((name): Member => ({ name, first: -1, second: -1 })) as [
      Member,
      Member,
      Member,
    ];
    set.add(a);
    set.add(b);
    set.delete(a);
    set.add(c);
    expect(c.first).toBe(0);
    expect([...set]).toEqual([c, b]);
  });

  it('does not visit a member deleted while it iterates', () => {
    const set = new SlotSet(firstSlot);
    const members = [0, 1, 2].map((name): Member => ({ name, first: -1, second: -1 }));
    for (const member of members) set.add(member);
    const seen: number[] = [];
    for (const member of set) {
      seen.push(member.name);
      if (member.name === 0) set.delete(members[1] as Member);
    }
    expect(seen).toEqual([0, 2]);
  });
});
