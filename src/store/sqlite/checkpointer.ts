/**
 * Write-ahead-log checkpoints off the event loop. SQLite checkpoints in the connection whose COMMIT
 * takes the log past `wal_autocheckpoint` pages (1,000 by default): inside that COMMIT, on the event
 * loop, it copies the log into the database file and syncs both: in a store-driven drain about half of
 * all COMMIT time. With the checkpoints in a thread that drain ran 12-20% faster, the copying done on
 * another core (docs/PERFORMANCE.md, "Checkpoints off the event loop").
 *
 * A store whose connection commits often (BUSY_COMMITS within one second) or writes many rows (BUSY_CHANGES
 * within one second: a bulk enqueue fills the log in few commits) starts a thread with its own connection
 * to the file (checkpoint-thread.ts) and from then on asks it for a PASSIVE checkpoint after a commit: one
 * at a time, at most one per INTERVAL_MS. Its own automatic checkpoint then moves to BACKSTOP_PAGES, which
 * the log reaches only if the thread falls behind (a reader holding an old snapshot stops any checkpoint,
 * as before); should the thread fail, the default comes back. A store that commits rarely never starts the
 * thread and checkpoints as SQLite does by default.
 */
import type Database from 'better-sqlite3';
import type { Worker as Thread } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import {
  moduleThread,
  siblingModule,
  withAcceptedOptions,
  withoutPreloads,
} from '../../runtime/module-thread.js';

/** What the main thread asks of the checkpointer thread. */
export type CheckpointCommand = 'checkpoint' | 'close';

/** What the checkpointer thread answers. */
export type CheckpointReport = { type: 'done' } | { type: 'failed'; message: string };

/** Commits within one second that make a connection busy enough for a thread of its own. */
const BUSY_COMMITS = 64;
/**
 * Rows written (SQLite's `total_changes()`, triggers' rows included) within one second that do the
 * same. A bulk enqueue of 1,000 jobs writes ~140 pages of log: twenty such commits, too few for
 * BUSY_COMMITS, met the default checkpoint twice, each time inside a COMMIT on the event loop (~12 ms).
 */
const BUSY_CHANGES = 1_000;
/** Least time between two requested checkpoints: a few per second move the log of any rate. */
const INTERVAL_MS = 50;
/** The connection's own automatic checkpoint while the thread runs (pages of the log, 40 MB at 4 KB). */
const BACKSTOP_PAGES = 10_000;
/** SQLite's default, restored when the thread fails. */
const DEFAULT_PAGES = 1_000;
/** How long `close` waits at most for the thread to close its connection before ending it. */
const THREAD_CLOSE_MS = 2_000;

const THREAD_URL = siblingModule('checkpoint-thread', import.meta.url);

/** The checkpointer of one store connection; see the module header. */
export class Checkpointer {
  private thread: Thread | null = null;
  private exited: Promise<void> | null = null;
  private inFlight = false;
  private lastRequestAt = 0;
  private windowStartedAt = 0;
  private windowCommits = 0;
  /** `total_changes()` when the window started, and after the last commit seen. */
  private windowStartChanges = 0;
  private lastChanges: number;
  /** Read only until the thread starts: a commit afterwards pays nothing for it. */
  private readonly totalChanges: Database.Statement;
  /** The thread failed once: checkpoints stay with the connection from then on. */
  private failed = false;
  private closing = false;

  constructor(
    private readonly db: Database.Database,
    private readonly logger: Logger,
  ) {
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
    this.lastChanges = this.changes();
  }

  /** Whether the thread runs (started, not failed, not closed). */
  get running(): boolean {
    return this.thread !== null;
  }

  /** The store's connection committed a write transaction. */
  committed(): void {
    if (this.failed || this.closing) return;
    const now = performance.now();
    if (this.thread === null) {
      if (now - this.windowStartedAt > 1_000) {
        this.windowStartedAt = now;
        this.windowCommits = 0;
        this.windowStartChanges = this.lastChanges;
      }
      this.windowCommits += 1;
      this.lastChanges = this.changes();
      const written = this.lastChanges - this.windowStartChanges;
      if (this.windowCommits < BUSY_COMMITS && written < BUSY_CHANGES) return;
      this.start();
    }
    if (this.inFlight || now - this.lastRequestAt < INTERVAL_MS) return;
    this.inFlight = true;
    this.lastRequestAt = now;
    this.thread?.postMessage('checkpoint' satisfies CheckpointCommand);
  }

  /**
   * Ends the thread after it closed its connection, or after `waitMs` (at most THREAD_CLOSE_MS) without
   * it; the store closes its own after this.
   */
  async close(waitMs: number): Promise<void> {
    this.closing = true;
    const thread = this.thread;
    if (thread === null) return;
    thread.postMessage('close' satisfies CheckpointCommand);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.min(waitMs, THREAD_CLOSE_MS));
    });
    if ((await Promise.race([this.exited, late])) === 'late') await thread.terminate();
    clearTimeout(timer);
    this.thread = null;
  }

  private start(): void {
    const thread = withAcceptedOptions(withoutPreloads(process.execArgv), (execArgv) =>
      moduleThread(THREAD_URL, { workerData: { filename: this.db.name }, execArgv }),
    );
    // The store's close ends it; a process that exits without closing the store is not held up.
    thread.unref();
    thread.on('message', (report: CheckpointReport) => {
      this.inFlight = false;
      if (report.type === 'failed')
        this.logger.debug({ reason: report.message }, 'background checkpoint failed; retried');
    });
    thread.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) => {
      thread.once('exit', (code) => {
        if (!this.closing) this.fail(new Error(`checkpointer thread exited with code ${code}`));
        resolve();
      });
    });
    this.thread = thread;
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  }

  private changes(): number {
    return this.totalChanges.get() as number;
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.thread = null;
    this.inFlight = false;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
    this.logger.warn({ err: error }, 'SQLite checkpointer thread failed; checkpoints stay in the connection');
  }
}
