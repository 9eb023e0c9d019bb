/**
 * `ns.queues`: list queues with their counts, pause and resume them cluster-wide. A queue is only a
 * name: pausing one that has no jobs yet is allowed (it stays paused until resumed, and its first
 * jobs wait), so an operator can close a queue before its producers start.
 *
 * A pause is a row in the paused_queues table that every claim reads inside its own statement: once
 * `pause` returns, no claim that starts afterwards takes a job of that queue, in any process (workers
 * claim at least every `pollIntervalMs`, 1 s by default). Running jobs finish normally, and enqueueing
 * into a paused queue is accepted (the jobs wait).
 */
import { MAX_NAME_BYTES, queueNameIn, textIn } from './validation/bounds.js';
import { FinishedCounts } from './queue-finished-counts.js';
import { emptyCounts } from './store/queue-summary.js';
import { noThrottle } from './store/queue-throttle.js';
import { DEFAULT_WORKER_STALE_MS } from './worker/options.js';
import type { QueueInfo, Store } from './store/store.js';

export type { QueueInfo } from './store/store.js';

/** Queue operations of a Nightshift instance. */
export class QueueService {
  private readonly finishedCounts: FinishedCounts;

  constructor(private readonly store: Store) {
    this.finishedCounts = new FinishedCounts(() => store.jobFinishedCountByQueue());
  }

  /**
   * Every queue that has jobs or is paused, by name. Scheduled, queued and running counts, ages and
   * throttled counts are read now; the finished states' counts may be reused (queue-finished-counts.ts).
   * Throttled jobs waiting for labels are judged against the workers `ns.workers()` lists.
   */
  async list(): Promise<QueueInfo[]> {
    const finished = await this.finishedCounts.read();
    return this.store.queueList({ workerStaleMs: DEFAULT_WORKER_STALE_MS, ...finished });
  }

  /** One queue as `list` shows it; a name with no jobs and no pause has zero counts. */
  async get(name: string): Promise<QueueInfo> {
    const queue = queueName(name);
    const found = (await this.list()).find((q) => q.name === queue);
    return (
      found ?? {
        name: queue,
        counts: emptyCounts(),
        oldestReadyAgeMs: null,
        nextDueInMs: null,
        paused: false,
        throttled: noThrottle(),
        finishedCountsAgeMs: 0,
      }
    );
  }

  /** Stops every worker from claiming this queue's jobs (idempotent); returns the queue. */
  async pause(name: string): Promise<QueueInfo> {
    await this.store.queuePause({ queue: queueNameIn('queue', name) });
    return this.get(name);
  }

  /** Lets workers claim this queue's jobs again (idempotent); returns the queue. */
  async resume(name: string): Promise<QueueInfo> {
    await this.store.queueResume({ queue: queueNameIn('queue', name) });
    return this.get(name);
  }
}

function queueName(name: unknown): string {
  return textIn('queue', name, MAX_NAME_BYTES);
}
