/** Schedule events in the cluster event log, on both backends: a fired slot is `schedule:fired` with its job. */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(backend: 'sqlite' | 'postgres') {
  let store;
  if (backend === 'sqlite') {
    const file = tempSqliteFile();
    cleanups.push(() => file.remove());
    store = await openStore(`sqlite:${file.path}`);
  } else {
    const schema = uniqueSchema('events_sched');
    cleanups.push(() => dropSchema(schema));
    store = await openStore(TEST_PG_URL, { schema });
  }
  const ns = await Nightshift.connect({
    db: store,
    logger: createLogger({ level: 'silent' }),
    tasks: { report: () => undefined },
  });
  cleanups.push(async () => {
    await ns.close();
    await store.close();
  });
  return ns;
}

describe.each(['sqlite', 'postgres'] as const)('schedule events on %s', (backend) => {
  it('records a fired slot with its job, in the transaction that enqueued it', async () => {
    const ns = await connect(backend);
    await ns.untyped.schedules.create({ id: 'nightly', task: 'report', cron: '0 3 * * *' });
    const outcome = await ns.untyped.schedules.trigger('nightly');
    const jobId = 'jobId' in outcome ? outcome.jobId : undefined;
    const read = await waitUntil(
      async () => {
        const page = await ns.readEvents({ limit: 10 });
        return page.events.some((e) => e.type === 'schedule:fired') ? page : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const fired = read.events.find((e) => e.type === 'schedule:fired');
    expect(fired).toMatchObject({ scheduleId: 'nightly', data: { kind: 'trigger' } });
    expect(fired?.jobId).toBeDefined();
    if (jobId !== undefined) expect(fired?.jobId).toBe(jobId);
    expect(read.events.find((e) => e.type === 'job:enqueued')?.jobId).toBe(fired?.jobId);
  });
});
