/**
 * The JavaScript side of a PostgreSQL finish batch (src/store/postgres/postgres-store.ts, job-row.ts):
 * ids and tokens checked without a regular expression (each distinct token once), and the arrays of
 * plain completions sent as literals built by the store instead of node-postgres's per-element escaping.
 * Every result must come back exactly as sent, whatever characters its JSON holds.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionLiterals, isUuid, textElement } from '../../src/store/postgres/job-row.js';
import type { ClaimedJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { postgresHarness } from '../support/postgres-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe('isUuid', () => {
  it('accepts canonical uuids in either case and nothing else', () => {
    const id = randomUUID();
    const samples = [id, id.toUpperCase(), '00000000-0000-0000-0000-000000000000'];
    samples.push('', 'x', id.slice(1), `${id}0`, ` ${id.slice(1)}`, id.replace(/-/g, ''), `{${id.slice(2)}}`);
    // Every position replaced by a character outside the pattern, or a dash moved.
    for (let i = 0; i < id.length; i += 1) {
      for (const c of ['g', 'G', '-', '/', ':', '@', '`', 'é', '\u0130', '0']) {
        samples.push(id.slice(0, i) + c + id.slice(i + 1));
      }
    }
    for (const sample of samples) expect(isUuid(sample), sample).toBe(UUID.test(sample));
    expect(isUuid(undefined as unknown as string)).toBe(false);
  });
});

describe('completion literals', () => {
  it('writes uuid arrays bare and text elements quoted and escaped, NULL for no result', () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const token = randomUUID();
    const literals = completionLiterals([
      { id: a, leaseToken: token, result: { say: 'a "b" \\ c' } },
      { id: b, leaseToken: token },
    ]);
    expect(literals).toEqual({
      ids: `{${a},${b}}`,
      tokens: `{${token},${token}}`,
      results: '{"{\\"say\\":\\"a \\\\\\"b\\\\\\" \\\\\\\\ c\\"}",NULL}',
    });
    expect(completionLiterals([])).toEqual({ ids: '{}', tokens: '{}', results: '{}' });
    expect(textElement('null')).toBe('"null"');
    expect(textElement(null)).toBe('NULL');
  });
});

describe('PostgreSQL finish batch', () => {
  const harness = postgresHarness('finishbatch');
  let store: Store;

  beforeAll(async () => {
    store = await harness.open();
  });

  afterAll(() => harness.close());

  async function claim(count: number): Promise<ClaimedJob[]> {
    await store.jobInsertMany({ jobs: Array.from({ length: count }, () => newJob()) });
    const claimed = await store.jobClaim({ workerId: 'w', limit: count, leaseMs: 30_000 });
    expect(claimed).toHaveLength(count);
    return claimed;
  }

  it('stores every result exactly as sent, whatever characters its JSON holds', async () => {
    const results: unknown[] = [
      'a "quoted" word',
      'back\\slash \\" both',
      '{braces}, commas, NULL',
      { nested: ['"', '\\', '{', '}', ',', ' '], n: -1.5e-7 },
      'zażółć 🦉 \u0000 \n\t',
      null,
      undefined,
      'NULL',
      '',
    ];
    const jobs = await claim(results.length);
    const { accepted } = await store.jobFinishMany({
      finishes: jobs.map((job, i) => ({
        id: job.id,
        leaseToken: job.leaseToken,
        outcome: 'completed' as const,
        result: results[i],
      })),
    });
    expect(accepted.sort()).toEqual(jobs.map((job) => job.id).sort());
    for (const [i, job] of jobs.entries()) {
      const stored = await store.jobGet({ id: job.id });
      expect(stored?.state).toBe('completed');
      // JSON in, JSON out: undefined is stored as SQL NULL and read as null, like null.
      expect(stored?.result).toEqual(results[i] ?? null);
    }
  });

  it('refuses a malformed id or token without refusing the finishes that share a valid token', async () => {
    const [first, second, third] = (await claim(3)) as [ClaimedJob, ClaimedJob, ClaimedJob];
    const token = first.leaseToken;
    const { accepted } = await store.jobFinishMany({
      finishes: [
        { id: 'not-a-uuid', leaseToken: token, outcome: 'completed' },
        { id: first.id, leaseToken: token, outcome: 'completed' },
        { id: second.id, leaseToken: `${token}x`, outcome: 'completed' },
        { id: second.id, leaseToken: token, outcome: 'completed', result: 'second try' },
        { id: third.id, leaseToken: token.toUpperCase(), outcome: 'completed' },
      ],
    });
    expect(accepted.sort()).toEqual([first.id, second.id, third.id].sort());
    expect((await store.jobGet({ id: second.id }))?.result).toBe('second try');
  });
});
