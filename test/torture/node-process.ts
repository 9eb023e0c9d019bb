/**
 * One worker or scheduler process of a torture run, started by the driver (compiled, cluster.ts) with
 * `node node-process.js <role> <name> <db url> <history dir> <backend>`.
 * TORTURE_SKEW_MS shifts this process's `Date` (the worker clock skew fault). SIGTERM stops it
 * gracefully; the driver also kills it with SIGKILL and freezes it with SIGSTOP.
 */
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { HistoryWriter, realNow } from './history.js';
import { tortureTasks } from './tasks.js';

const [role, name, db, historyDir, backend] = process.argv.slice(2);
if ((role !== 'worker' && role !== 'scheduler') || !name || !db || !historyDir) {
  throw new Error('usage: node-process.ts worker|scheduler <name> <db> <history dir> sqlite|postgres');
}
if (backend !== 'sqlite' && backend !== 'postgres') throw new Error(`unknown backend ${String(backend)}`);

const skewMs = Number(process.env['TORTURE_SKEW_MS'] ?? '0');
if (skewMs !== 0) skewDate(skewMs);

const history = new HistoryWriter(historyDir, name);
const ns = await Nightshift.connect({
  db,
  tasks: tortureTasks(history, backend),
  logger: createLogger({ level: process.env['TORTURE_LOG_LEVEL'] ?? 'silent' }),
});

if (role === 'worker') {
  ns.events.on('job:completed', ({ jobId, attempt }) =>
    history.record({ kind: 'completed_event', jobId, attempt }),
  );
  ns.events.on('job:lease_lost', ({ jobId, attempt }) =>
    history.record({ kind: 'lease_lost_event', jobId, attempt }),
  );
  const worker = ns.startWorker({
    concurrency: 4,
    pollIntervalMs: 200,
    rescueIntervalMs: 500,
    // Longer than any outage the run injects: a worker that gives up is a finding, not a fault.
    maxStoreDownMs: 120_000,
    workerId: name,
  });
  worker.failed.then(
    () => undefined,
    (error: unknown) => {
      process.stderr.write(`worker failed: ${String(error)}\n`);
      process.exit(3);
    },
  );
} else {
  ns.startScheduler();
}
installShutdownSignals(ns, {
  graceMs: 1_000,
  onStopped: (error) => {
    void ns.close().finally(() => process.exit(error === undefined ? 0 : 1));
  },
});
process.stdout.write(`ready ${realNow()}\n`);

/** Moves every reading of this process's wall clock by `ms`; timers (monotonic) are untouched. */
function skewDate(ms: number): void {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + ms);
      else super(...args);
    }
    static override now(): number {
      return RealDate.now() + ms;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}
