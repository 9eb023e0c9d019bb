/**
 * A worker's row in the workers table (`ns.workers()`, `GET /api/v1/workers`): inserted when the
 * worker starts, with the tasks it implements (which the task catalog reads, task-catalog.ts), its
 * heartbeat and running count updated every `heartbeatIntervalMs`, deleted when it stops. Its row
 * holds its `workerStaleMs`, by which (or by a reader's own bound, the longer) it is judged live. A
 * worker killed without stopping keeps its row until some rescuer's sweep finds its heartbeat older
 * than that (rescuer.ts).
 *
 * Cost: one UPDATE by primary key per worker per interval (PostgreSQL: a heap-only update, no index
 * covers the columns it writes; SQLite: one short write transaction). The heartbeat writes two
 * columns only: the tasks, fixed for the worker's life, are written when it registers. Runs on the
 * event loop: a handler that blocks it for longer than `workerStaleMs` makes the worker look dead in
 * the list (its leases are renewed from their own thread; the next heartbeat registers it again).
 */
import { hostname } from 'node:os';
import { PeriodicPass } from '../runtime/periodic.js';
import type { Store } from '../store/store.js';
import type { StoreHealth } from '../runtime/store-health.js';

/** What the registration reads from its worker. */
export interface RegisteredWorker {
  id: string;
  queues: string[] | null;
  /** The labels it offers, canonical (empty for none). */
  labels: string[];
  /** The tasks it has a handler for, sorted (empty for none). */
  tasks: string[];
  concurrency: number;
  /** Its `workerStaleMs`: how long after its last heartbeat it counts as gone. */
  staleMs: number;
  /** Handlers running now. */
  running(): number;
}

/** Keeps one worker's row current while the worker runs. */
export class WorkerRegistration {
  private readonly periodic: PeriodicPass;
  private registered = false;

  constructor(
    private readonly store: Store,
    private readonly worker: RegisteredWorker,
    health: StoreHealth,
    intervalMs: number,
  ) {
    this.periodic = new PeriodicPass('heartbeat', () => this.beat(), health, intervalMs);
  }

  /** Registers now (the first pass), then heartbeats every interval. */
  start(): void {
    this.periodic.start();
  }

  /** Stops heartbeating and deletes the row; a failed delete is left to the sweep. */
  async stop(): Promise<void> {
    await this.periodic.stop();
    await this.store.workerDelete({ id: this.worker.id }).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const running = this.worker.running();
    // A row swept while this worker stalled (or never written: the database was down) is inserted again.
    if (this.registered && (await this.store.workerHeartbeat({ id: this.worker.id, running }))) return;
    await this.store.workerRegister({
      id: this.worker.id,
      host: hostname(),
      pid: process.pid,
      queues: this.worker.queues,
      labels: this.worker.labels,
      tasks: this.worker.tasks,
      concurrency: this.worker.concurrency,
      staleMs: this.worker.staleMs,
      running,
    });
    this.registered = true;
  }
}
