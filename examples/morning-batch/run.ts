/**
 * The morning batch from the command line (see README.md):
 *
 *   run.ts start  --db URL [--schema S] [--orders 100000] [--chunk 500] [--key K]
 *   run.ts work   --db URL [--schema S] [--queues batch,messages] [--trace FILE] [--lease-ms 5000]
 *                 [--rescue-ms 5000] [--grace-ms 10000] [--read-ms 0] [--until-done]
 *   run.ts report --db URL [--schema S]
 *
 * `start` enqueues the batch once per key (default: today's date) and prints its job id. `work` runs a
 * worker for the batch and its messages until SIGTERM/SIGINT (first: graceful, second: forced), or with
 * `--until-done` until the batch and every message job are final; one JSON line per chunk started.
 * `report` prints the batch's state, its message jobs by state and the outbox totals as JSON.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
// In your own project: import { Nightshift, installShutdownSignals, openStore } from 'nightshift';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { createOutbox, readOutbox } from './outbox.js';
import { morningBatchTasks } from './tasks.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: 'sqlite:./morning-batch.db' },
    schema: { type: 'string', default: 'nightshift' },
    orders: { type: 'string', default: '100000' },
    chunk: { type: 'string', default: '500' },
    key: { type: 'string', default: `morning-batch:${new Date().toISOString().slice(0, 10)}` },
    trace: { type: 'string' },
    'lease-ms': { type: 'string', default: '5000' },
    'grace-ms': { type: 'string', default: '10000' },
    'until-done': { type: 'boolean', default: false },
    queues: { type: 'string', default: 'batch,messages' },
    'rescue-ms': { type: 'string', default: '5000' },
    'read-ms': { type: 'string', default: '0' },
  },
});
const mode = positionals[0];
const schema = values.schema;
const store = await openStore(values.db, { schema });
const ns = await Nightshift.connect({
  db: store,
  tasks: morningBatchTasks({
    schema,
    readDelayMs: Number(values['read-ms']),
    onChunk: (chunk) => {
      const line = JSON.stringify({ event: 'chunk', ...chunk });
      // Written synchronously so a kill -9 right after cannot lose the line.
      if (values.trace) appendFileSync(values.trace, `${line}\n`);
      process.stdout.write(`${line}\n`);
    },
  }),
});
await createOutbox(store, schema);

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function done(queues: string[]): Promise<boolean> {
  const counts = (await store.jobCountByQueue()).filter((c) => queues.includes(c.queue));
  const open = counts.filter(
    (c) => c.state !== 'completed' && c.state !== 'failed' && c.state !== 'cancelled',
  );
  return counts.some((c) => c.queue === 'batch') && open.every((c) => c.count === 0);
}

async function finish(code: number): Promise<never> {
  await ns.close();
  await store.close();
  process.exit(code);
}

if (mode === 'start') {
  const { id, created } = await ns.enqueue(
    'orders.morning-batch',
    { totalOrders: Number(values.orders), chunkSize: Number(values.chunk) },
    { idempotencyKey: values.key },
  );
  print({ event: 'enqueued', id, created });
  await finish(0);
} else if (mode === 'work') {
  const worker = ns.startWorker({
    queues: values.queues.split(','),
    concurrency: 8,
    leaseMs: Number(values['lease-ms']),
    rescueIntervalMs: Number(values['rescue-ms']),
  });
  installShutdownSignals(ns, {
    graceMs: Number(values['grace-ms']),
    logger: ns.logger,
    onStopped: (error) => {
      print({
        event: 'stopped',
        error: error === undefined ? null : error instanceof Error ? error.message : JSON.stringify(error),
      });
      void finish(error === undefined ? 0 : 1);
    },
  });
  worker.failed.catch(() => finish(1));
  print({ event: 'working', workerId: worker.id });
  if (values['until-done']) {
    while (!(await done(values.queues.split(',')))) await new Promise((resolve) => setTimeout(resolve, 200));
    print({ event: 'done' });
    await finish(0);
  }
} else if (mode === 'report') {
  const counts = await store.jobCountByQueue();
  const outbox = await readOutbox(store, schema);
  const distinct = new Set(outbox.map((m) => m.orderId)).size;
  print({ jobs: counts, outboxRows: outbox.length, outboxDuplicates: outbox.length - distinct });
  await finish(0);
} else {
  process.stderr.write('usage: run.ts start|work|report --db URL [options]; see README.md\n');
  await finish(2);
}
