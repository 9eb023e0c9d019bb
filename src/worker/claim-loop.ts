/**
 * The claim loop: one `jobClaim` for as many jobs as there is room for in the free slots and the ready buffer
 * (prefetch.ts), at most `claimBatchMax`; a full batch means backlog, so it claims again at once (and wakes
 * the other lane); otherwise the queues are drained for this worker and it waits for new work (wakeup.ts: a
 * store `job:ready` event, also one that arrived while the claim travelled; the due time of the next
 * scheduled job or rate start, which the claim reports, so a delayed job, a retry or a rate-held job starts
 * on time) or for the poll interval (events are an optimisation, the poll is the guarantee; longer while the
 * store hears other processes, see `pollIntervalMs` in options.ts). While its claims meet limits (a limited
 * or rated queue, keyed jobs), a freed slot or written outcomes wake it too: a finish that gives back a key's
 * or a queue's slot is what lets a job held back by it start. So they do while a job it holds (running,
 * buffered, or with its outcome unwritten) has a key's slot: a claim that finds that key full skips its jobs
 * before the store could report them, so it need not report a limit at all. What it claimed goes to the
 * attempt runner (attempt-runner.ts), which starts it or lets it wait for a slot.
 *
 * Two lanes claim at once; see `runLane` for why and when the second one does.
 */
import { Backoff } from '../runtime/backoff.js';
import { sleep } from '../runtime/sleep.js';
import type { StoreHealth } from '../runtime/store-health.js';
import type { ClaimedJob, Store } from '../store/store.js';
import type { AttemptRunner } from './attempt-runner.js';
import { sharedNow } from './lease-table.js';
import type { ResolvedWorkerOptions } from './options.js';
import type { Wakeup } from './wakeup.js';

/** Claims in flight at once: a second overlaps the first's round trip (see runLane). */
const CLAIM_LANES = 2;

/**
 * How long after a claim met limits a drained lane still claims on freed capacity: a keyed job held
 * back behind this worker's own is not seen by the claims that find its key full, only by the claim
 * after the holder's outcome is written.
 */
const LIMITS_RECENT_MS = 10_000;

/**
 * The shortest wait for a scheduled job's due time. A job due already (made ready by the claim that
 * reported it, or one of more than a claim promotes) is claimed after this, not at once: nothing the
 * store reports can make a lane claim in a tight loop.
 */
const MIN_DUE_WAIT_MS = 5;

/** Claims jobs for one worker until it stops. */
export class ClaimLoop {
  /** Jobs asked for by claims still in flight. */
  private reserved = 0;
  /** Claims sent so far, by every lane: a batch's number orders it in the ready buffer. */
  private claimsSent = 0;
  /** When a claim last met limits (performance.now()); -Infinity: never. */
  private limitsMetAt = -Infinity;

  constructor(
    private readonly store: Store,
    private readonly health: StoreHealth,
    private readonly runner: AttemptRunner,
    private readonly wakeup: Wakeup,
    private readonly options: ResolvedWorkerOptions,
    private readonly workerId: string,
  ) {}

  /** Claims until `stopping` aborts; resolves once no claim is in flight. */
  run(stopping: AbortSignal): Promise<void> {
    return Promise.all(Array.from({ length: CLAIM_LANES }, (_, lane) => this.runLane(lane, stopping))).then(
      () => undefined,
    );
  }

  /**
   * One claim lane. Lane 0 is the claim loop proper. The others claim only while there is a prefetch
   * allowance (short jobs at a high rate): then a second claim travels while the first lane's batch
   * runs. Otherwise they stay out of the way, so an idle or long-job worker still polls once per
   * interval and has at most one claim in flight (a claim in flight when `stop()` begins can only hand
   * its jobs back). Every lane claims only while slots plus allowance leave room beyond what is
   * running, waiting and already asked for.
   */
  private async runLane(lane: number, stopping: AbortSignal): Promise<void> {
    const backoff = new Backoff();
    const { claimBatchMax, pollIntervalMs, livePollIntervalMs, leaseMs, queues, labels } = this.options;
    while (!stopping.aborted) {
      // Let handlers that finish in the same burst free their slots first: one claim for many slots
      // instead of one claim (a round trip) per freed slot.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // stop() may have begun meanwhile: a claim sent now would only hand its jobs back.
      if (stopping.aborted) break;
      this.runner.releaseStale();
      const room = this.runner.room(lane > 0) - this.reserved;
      if (room <= 0 || this.runner.backlogged) {
        await this.wakeup.wait(this.runner.idleWaitMs(), stopping, lane, {
          workSince: this.wakeup.workCount,
          capacity: true,
        });
        continue;
      }
      // Whatever the concurrency: the ready buffer's allowance is what lets a claim exceed the slots.
      const limit = Math.min(room, claimBatchMax);
      const sentAt = performance.now();
      const claimSentAt = sharedNow();
      const claim = (this.claimsSent += 1);
      const workSince = this.wakeup.workCount;
      let nextDueInMs: number | null = null;
      let jobs: ClaimedJob[];
      this.reserved += limit;
      try {
        jobs = await this.health.watch(
          'claim',
          this.store.jobClaim({
            workerId: this.workerId,
            limit,
            leaseMs,
            ...(queues ? { queues } : {}),
            ...(labels.length > 0 ? { labels } : {}),
            report: (report) => {
              if (report.limitsMet) this.limitsMetAt = performance.now();
              nextDueInMs = report.nextDueInMs;
            },
          }),
        );
        this.health.ok();
        backoff.reset();
      } catch (error) {
        const delay = backoff.next();
        this.health.failed('claim', error, delay);
        await sleep(delay, stopping);
        continue;
      } finally {
        this.reserved -= limit;
      }
      this.runner.claimAnswered(performance.now() - sentAt);
      if (stopping.aborted) {
        // Claimed while stop() began: hand them straight back, attempt not spent.
        this.runner.handBack(jobs, claimSentAt);
        break;
      }
      this.runner.admitBatch(jobs, claimSentAt, claim);
      if (jobs.length < limit) {
        // Read at each wait: the worker wakes its lanes when the store's events stop or resume.
        const pollMs = this.store.crossProcessEventsLive ? livePollIntervalMs : pollIntervalMs;
        // Whichever lane has room when it comes claims then (wakeup.ts).
        if (nextDueInMs !== null && nextDueInMs < pollMs) {
          this.wakeup.workDueIn(Math.max(MIN_DUE_WAIT_MS, nextDueInMs));
        }
        const capacity =
          performance.now() - this.limitsMetAt < LIMITS_RECENT_MS || this.runner.holdsKeySlot();
        await this.wakeup.wait(pollMs, stopping, lane, {
          workSince,
          capacity,
        });
      } else {
        // A full batch: there is a backlog, so another lane may claim beside this one.
        this.wakeup.wake('work');
      }
    }
  }
}
