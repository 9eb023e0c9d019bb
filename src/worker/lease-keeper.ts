/**
 * Lease renewal outside the main event loop: a worker thread with its own database connection renews
 * every lease the worker holds (lease-keeper-thread.ts), so a handler that blocks the event loop for
 * longer than its lease neither loses the lease nor runs twice.
 *
 * Why a thread and not only a timer: a timer on the main loop cannot fire while a handler spins
 * synchronously; a blocked loop for three leases would let another worker re-claim the job and run it
 * again (fencing would refuse the stale attempt's writes, but its side effects outside the database
 * already happened twice). The thread keeps renewing through the stall.
 *
 * What keeps a truly stuck job rescuable: every lease is handed over with a deadline, the attempt's
 * timeout plus its abort grace. Once the main thread has not reported the handler settled by then, the
 * thread stops renewing it, the lease lapses, and another worker's rescuer takes the job back.
 *
 * Costs: one thread and one extra connection per worker (PostgreSQL: one pooled connection in the
 * thread's own pool). Needs a database another connection can open: an in-memory SQLite database
 * cannot be shared, and the worker then renews on its event loop.
 *
 * Messages posted by the thread are handled when the main loop is free again; that is fine, they only
 * report losses (the lease was taken anyway) and cancel requests.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { LeaseRef } from '../store/store.js';

/** What the thread needs to start: where the database is and the default lease. */
export interface KeeperSetup {
  url: string;
  schema?: string;
  leaseMs: number;
}

/**
 * Main thread to keeper: the commands of one event-loop turn, in one message. Flat arrays of strings
 * and numbers rather than an object per command: the structured clone of one object per lease was most
 * of what the message cost. Applied holds first, then settles, then releases, which is the order they
 * happen in for any one lease, so a lease held and released within one turn ends released.
 */
export interface KeeperCommands {
  /** Leases to renew, four entries each: id, lease token, lease ms, deadline (epoch ms, or null). */
  hold: Array<string | number | null>;
  /** Lease tokens whose handler ended: renewed without deadline until released. */
  settled: string[];
  /** Lease tokens no longer renewed. */
  release: string[];
  /** The thread closes its connection and exits. */
  stop: boolean;
}

/** Keeper to main thread. */
export type KeeperReport =
  | { type: 'ready' }
  | { type: 'lost'; leaseToken: string }
  | { type: 'cancel'; leaseToken: string }
  | { type: 'error'; message: string };

/** What the worker hears from its keeper. */
export interface KeeperListener {
  /** The renewal found this attempt's lease gone. */
  onLost(leaseToken: string): void;
  /** The job of this attempt was asked to cancel. */
  onCancel(leaseToken: string): void;
}

// Compiled, the thread loads the .js beside this file. Running from TypeScript sources (tests,
// `node --import tsx`), it registers tsx first: Node 20 does not apply `--import` hooks to a thread's
// entry module, so the entry is a bootstrap that registers tsx and then imports the .ts file.
const fromSource = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(
  fromSource ? './lease-keeper-thread.ts' : './lease-keeper-thread.js',
  import.meta.url,
);

function startThread(setup: KeeperSetup): Thread {
  if (!fromSource) return new Thread(THREAD_URL, { workerData: setup });
  const tsxPackage = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = new URL('./dist/esm/api/index.mjs', tsxPackage).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => {
    api.register();
    return import(${JSON.stringify(THREAD_URL.href)});
  });`;
  return new Thread(bootstrap, { eval: true, workerData: setup });
}

/** The main thread's handle on the lease-keeper thread. */
export class LeaseKeeper {
  private readonly thread: Thread;
  /** True from the thread's first report until it exits: only then may the worker stop renewing. */
  private alive = false;
  private readonly exited: Promise<void>;
  /** Resolves true once the thread has its connection, false if it exits or fails first. */
  readonly ready: Promise<boolean>;
  private stopped = false;
  private settleReady!: (ready: boolean) => void;
  /** Commands not yet posted; see `schedule`. */
  private pending: KeeperCommands = emptyCommands();
  private flushScheduled: NodeJS.Immediate | null = null;

  constructor(setup: KeeperSetup, listener: KeeperListener, logger: Logger) {
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.thread = startThread(setup);
    // The thread must never keep a process alive that has nothing else to do.
    this.thread.unref();
    this.thread.on('message', (report: KeeperReport) => {
      switch (report.type) {
        case 'lost':
          listener.onLost(report.leaseToken);
          return;
        case 'cancel':
          listener.onCancel(report.leaseToken);
          return;
        case 'error':
          logger.warn({ error: report.message }, 'lease keeper: renewal failed; retrying');
          return;
        case 'ready':
          this.alive = true;
          this.settleReady(true);
          return;
      }
    });
    this.exited = new Promise((resolve) => {
      this.thread.on('error', (error) => {
        this.alive = false;
        this.settleReady(false);
        logger.error({ err: error }, 'lease keeper thread failed; renewing on the event loop instead');
      });
      this.thread.on('exit', () => {
        this.alive = false;
        this.settleReady(false);
        resolve();
      });
    });
  }

  /** False once the thread has stopped or failed: the worker must renew by itself. */
  get running(): boolean {
    return this.alive;
  }

  /** Starts renewing an attempt's lease, until `deadline` (epoch ms) unless it settles first. */
  hold(ref: LeaseRef, leaseMs: number, deadline: number | null): void {
    if (this.stopped) return;
    this.pending.hold.push(ref.id, ref.leaseToken, leaseMs, deadline);
    this.schedule();
  }

  /** The attempt's handler ended: renew without deadline until its outcome is written. */
  settled(leaseToken: string): void {
    if (this.stopped) return;
    this.pending.settled.push(leaseToken);
    this.schedule();
  }

  /** Stops renewing an attempt. */
  release(leaseToken: string): void {
    if (this.stopped) return;
    this.pending.release.push(leaseToken);
    this.schedule();
  }

  /** Stops the thread and waits for it to close its connection (at most `timeoutMs`, then terminates it). */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.pending.stop = true;
    this.flush();
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    if ((await Promise.race([this.exited, late])) === 'late') await this.thread.terminate();
    clearTimeout(timer);
  }

  /**
   * Posts every command queued so far in one message. The worker calls it right after starting a batch
   * of attempts, before their handlers run (they start in a later microtask), so a handler that blocks
   * the event loop at once has its lease held already.
   */
  flush(): void {
    if (this.flushScheduled) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    const commands = this.pending;
    if (!commands.stop && commands.hold.length + commands.settled.length + commands.release.length === 0) {
      return;
    }
    this.pending = emptyCommands();
    // Before 'ready' the thread queues messages; after exit there is nobody to tell.
    if (!this.stopped) this.thread.postMessage(commands);
  }

  // One message per event-loop turn instead of three per job: at thousands of jobs a second,
  // per-job postMessage (a structured clone and a wake-up of the thread each) was the largest CPU cost
  // of the engine in profiles.
  private schedule(): void {
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = null;
      this.flush();
    });
  }
}

function emptyCommands(): KeeperCommands {
  return { hold: [], settled: [], release: [], stop: false };
}
