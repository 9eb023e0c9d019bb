/**
 * Store-level throughput probe for the PostgreSQL hot path (not part of the test run; numbers feed the
 * "PostgreSQL hot path" section of docs/ARCHITECTURE.md):
 *
 *   node --import tsx test/postgres/throughput.ts [jobs=100000] [insertBatch=1000] [loops=4] [claimBatch=100] [keys=0] [labelled=0]
 *
 * With `keys` > 0 every job has a concurrency key, job i the key `k<i mod keys>`, with a limit high
 * enough never to hold a job back: what keys cost when they block nothing (docs/TENANCY.md). With
 * `labelled` 1 every job requires the label `area:a` and the claims offer it: what a labelled claim
 * costs (docs/TENANCY.md, "Worker labels").
 *
 * Phase 1 bulk-enqueues `jobs` in batches; phase 2 drains them with `loops` concurrent claim/finish
 * loops in this one process (no-op handlers, every guarantee on: lease token, fenced finish, run rows).
 */
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';

const [jobs = 100_000, insertBatch = 1_000, loops = 4, claimBatch = 100, keys = 0, labelled = 0] =
  process.argv.slice(2).map(Number);
const LABELS = ['area:a'];
const schema = uniqueSchema('bench');
const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: loops + 2 });
await store.migrate();

try {
  let started = performance.now();
  for (let done = 0; done < jobs; done += insertBatch) {
    await store.jobInsertMany({
      jobs: Array.from({ length: Math.min(insertBatch, jobs - done) }, (_, i) =>
        newJob({
          task: 'noop',
          ...(keys > 0 && { concurrencyKey: `k${(done + i) % keys}`, concurrencyLimit: jobs }),
          ...(labelled > 0 && { requires: LABELS }),
        }),
      ),
    });
  }
  const insertSeconds = (performance.now() - started) / 1000;
  console.log(
    `enqueue: ${jobs} jobs in ${insertSeconds.toFixed(2)} s = ${Math.round(jobs / insertSeconds)} jobs/s`,
  );

  started = performance.now();
  const cpuBefore = process.cpuUsage();
  let processed = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, i) => {
      for (;;) {
        const claimed = await store.jobClaim({
          workerId: `bench-${i}`,
          limit: claimBatch,
          leaseMs: 30_000,
          ...(labelled > 0 && { labels: LABELS }),
        });
        if (claimed.length === 0) return;
        const { accepted } = await store.jobFinishMany({
          finishes: claimed.map((c) => ({
            id: c.id,
            leaseToken: c.leaseToken,
            outcome: 'completed' as const,
          })),
        });
        processed += accepted.length;
      }
    }),
  );
  const drainSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`node CPU during drain: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
  console.log(
    `claim+finish: ${processed} jobs in ${drainSeconds.toFixed(2)} s = ${Math.round(processed / drainSeconds)} jobs/s ` +
      `(${loops} loops, batch ${claimBatch}, ${keys > 0 ? `${keys} keys` : 'no keys'}${labelled > 0 ? ', labelled' : ''})`,
  );
} finally {
  await store.close();
  await dropSchema(schema);
}
