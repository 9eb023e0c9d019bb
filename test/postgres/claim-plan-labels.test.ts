/**
 * The claim with worker labels on PostgreSQL, on tables never analyzed (autovacuum is off): a worker
 * claims jobs it meets without walking the jobs it does not. The backlog is 20,000 queued jobs
 * requiring `gpu` ahead (by priority) of a few plain ones and a few requiring `region:eu`, plus 40
 * small requirement sets nobody offers: a worker without labels, and one offering `region:eu`, each
 * read a claim-sized share of the table, one index probe per distinct requirement set and the rows of
 * the sets they meet.
 */
import { describe, expect, it } from 'vitest';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { newJob } from '../support/jobs.js';
import { cte, explainClaim, nestedPlans, sharedBuffers } from '../support/postgres-explain.js';
import { migratedStore } from '../support/postgres-harness.js';

const db = migratedStore('plan_labels');
const sql = renderStatements(`"${db.schema}"`);

function expectIndexPlans(plan: string, labelled: boolean, restricted: boolean): void {
  const ready = cte(plan, 'ready');
  expect(ready).toContain(
    `Index Scan using ${restricted ? 'job_queue_ready_queue_idx' : 'job_queue_ready_idx'}`,
  );
  expect(ready).not.toMatch(/Seq Scan|Bitmap|Sort Key: job_queue/);
  if (!labelled) {
    expect(plan).not.toContain('job_queue_ready_labels');
    return;
  }
  // The sets: one probe each (run by nightshift_next_requirement_set, so nested plans), in requirement
  // order, never a scan of the labelled jobs.
  expect(cte(plan, 'label_sets')).not.toMatch(/Seq Scan|Bitmap|Sort Key/);
  const probes = setProbes(plan);
  expect(probes.length).toBeGreaterThan(0);
  for (const probe of probes) {
    expect(probe).toMatch(/Index (Only )?Scan using job_queue_ready_labels_idx on job_queue q/);
    expect(probe).not.toMatch(/Seq Scan|Bitmap|Sort Key/);
  }
  const labelled_ = cte(plan, 'ready_labeled');
  expect(labelled_).toContain(
    `Index Scan using ${restricted ? 'job_queue_ready_labels_queue_idx' : 'job_queue_ready_labels_idx'}`,
  );
  expect(labelled_).not.toMatch(/Seq Scan|Bitmap|Sort Key: job_queue/);
}

/**
 * A labelled claim explained on a connection that has already planned the requirement-set probe, as
 * the store's have: the buffers counted are the claim's, not the probe's first planning.
 */
function explainLabelled(text: string, values: unknown[]): Promise<string> {
  return explainClaim(text, values, {
    warm: `SELECT "${db.schema}".nightshift_next_requirement_set('{}', false)`,
  });
}

/** The plans of the ungrouped requirement-set probes the claim ran, one per probe. */
function setProbes(plan: string): string[] {
  return nestedPlans(plan).filter((nested) => nested.includes('q.group_key IS NULL'));
}

describe('PostgreSQL claim with worker labels, no statistics', () => {
  it('keeps ordered index scans on an empty table', async () => {
    expectIndexPlans(await explainClaim(sql.jobClaim.text, ['w', 100, 30_000]), false, false);
    expectIndexPlans(await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['q']]), false, true);
    expectIndexPlans(await explainClaim(sql.jobClaimLabeled.text, ['w', 100, 30_000, ['gpu']]), true, false);
    expectIndexPlans(
      await explainClaim(sql.jobClaimFromQueuesLabeled.text, ['w', 100, 30_000, ['q'], ['gpu']]),
      true,
      true,
    );
  });

  it('never walks the jobs of requirement sets the worker does not meet', async () => {
    for (let i = 0; i < 20; i += 1) {
      await db.store.jobInsertMany({
        jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'q', priority: 9, requires: ['gpu'] })),
      });
    }
    await db.store.jobInsertMany({
      jobs: [
        ...Array.from({ length: 40 }, (_, i) => newJob({ queue: 'q', priority: 5, requires: [`site:${i}`] })),
        ...Array.from({ length: 5 }, () => newJob({ queue: 'q' })),
        ...Array.from({ length: 5 }, () => newJob({ queue: 'q', requires: ['region:eu'] })),
      ],
    });

    const plain = await explainClaim(sql.jobClaim.text, ['w', 100, 30_000]);
    expectIndexPlans(plain, false, false);
    expect(plain).toMatch(/Update on jobs j_1 \(actual rows=5 loops=1\)/);
    const plainQueue = await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['q']]);
    expectIndexPlans(plainQueue, false, true);
    expect(plainQueue).toMatch(/Update on jobs j_1 \(actual rows=5 loops=1\)/);

    const eu = await explainLabelled(sql.jobClaimLabeled.text, ['w', 100, 30_000, ['region:eu']]);
    expectIndexPlans(eu, true, false);
    expect(eu).toMatch(/Update on jobs j_1 \(actual rows=10 loops=1\)/);
    // 42 sets present: 43 probes from the empty set the walk starts at (the last finds none, ~4 buffers
    // each), 44 rows with that start; only region:eu's rows are read.
    expect(cte(eu, 'label_sets')).toMatch(/Recursive Union \(actual rows=44 loops=1\)/);
    const probes = setProbes(eu);
    expect(probes).toHaveLength(43);
    expect(
      probes.filter((probe) => /Index (Only )?Scan [^\n]*\(actual rows=1 loops=1\)/.test(probe)),
    ).toHaveLength(42);
    const euQueue = await explainLabelled(sql.jobClaimFromQueuesLabeled.text, [
      'w',
      100,
      30_000,
      ['q'],
      ['region:eu'],
    ]);
    expectIndexPlans(euQueue, true, true);
    expect(euQueue).toMatch(/Update on jobs j_1 \(actual rows=10 loops=1\)/);
    // A claim-sized share: the 20,000 gpu jobs fill hundreds of pages; none of them is read.
    for (const plan of [plain, plainQueue, eu, euQueue]) {
      for (const walk of ['ready', 'ready_labeled']) {
        expect(cte(plan, walk)).not.toMatch(/Rows Removed by Filter: \d{3,}/);
      }
      expect(sharedBuffers(plan)).toBeLessThan(400);
    }

    // A queued job with requirements is cancelled through the labelled ready index, by its full key.
    const [{ job: gpuJob } = { job: undefined }] = await db.store.jobInsertMany({
      jobs: [newJob({ queue: 'q', requires: ['gpu'] })],
    });
    const cancel = await explainClaim(sql.jobCancel.text, [gpuJob?.id, 'c', 'o']);
    expect(cancel).toMatch(/job_queue_ready_labels_(queue_)?idx/);
    expect(cancel).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    // Probed by its whole key: a few pages, not the 20,000 other gpu jobs of the queue.
    expect(sharedBuffers(cancel)).toBeLessThan(100);
    expect(cancel).toMatch(/Delete on job_queue q \(actual rows=1 loops=1\)/);

    const claimed = await db.store.jobClaim({
      workerId: 'w',
      limit: 100,
      leaseMs: 30_000,
      labels: ['region:eu'],
    });
    expect(claimed.map((j) => j.requires.join())).toEqual([
      ...Array.from({ length: 5 }, () => ''),
      ...Array.from({ length: 5 }, () => 'region:eu'),
    ]);
    const gpu = await db.store.jobClaim({ workerId: 'w', limit: 100, leaseMs: 30_000, labels: ['gpu'] });
    expect(gpu).toHaveLength(100);
    expect(gpu.every((j) => j.requires.join() === 'gpu')).toBe(true);
  });
});
