/**
 * How a service lives through store errors (lost connection, failover, a SQLite write lock held too
 * long): every loop (a worker's claim, renew, finish, heartbeat, the rescue and prune beside it, a
 * scheduler's passes) catches the error, reports it here, waits and tries again. No loop ever dies on
 * a store error.
 *
 * A worker's loops wait a Backoff (backoff.ts) between tries; a scheduler tries again at its next pass.
 *
 * Outage bound: when no store call has succeeded for `maxStoreDownMs` (default 60 s) the service is
 * declared failed (`onFatal`) so the process can exit non-zero: a worker that cannot reach its
 * database must not look healthy while doing nothing. The same bound applies to a single call that
 * never answers (`watch`): a connection black-holed without an error would otherwise park a loop
 * forever while nothing gets reported.
 *
 * `maxStoreDownMs: 0` is no bound, as a timeout of 0 is none (`statementTimeoutMs`): the service
 * retries for as long as it runs and never gives up on its own. Only for a process something else
 * watches; it idles while looking healthy for as long as the database is away.
 */
import { NightshiftError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';

/** Tracks how long the store has been unreachable, across all loops of one service. */
export class StoreHealth {
  private downSince: number | null = null;
  private fatal = false;
  private closed = false;

  constructor(
    private readonly options: {
      maxStoreDownMs: number;
      events: EventBus;
      logger: Logger;
      onFatal: (error: Error) => void;
    },
  ) {}

  /** A store call succeeded: the outage, if any, is over. */
  ok(): void {
    if (this.downSince !== null) {
      this.options.logger.info(
        { downForMs: Math.round(performance.now() - this.downSince) },
        'store reachable again',
      );
      this.downSince = null;
    }
  }

  /** A store call from `source` failed; logs, emits `store:error`, and may declare the outage fatal. */
  failed(source: string, error: unknown, retryInMs: number): void {
    if (this.closed) return;
    const now = performance.now();
    this.downSince ??= now;
    this.options.logger.warn({ err: error, source, retryInMs }, 'store call failed; retrying');
    this.options.events.emit('store:error', { source, error, retryInMs });
    // 0 is no bound, as `watch` has it: giving up at the first failed call would end a service on any
    // blip (a failover, a lock held a moment), which no one setting it to 0 asked for.
    if (this.options.maxStoreDownMs > 0 && now - this.downSince >= this.options.maxStoreDownMs) {
      const reason = error instanceof Error ? error.message : String(error);
      this.declareFatal(
        `store unavailable for more than ${this.options.maxStoreDownMs} ms (last error from ${source}: ${reason})`,
        error,
      );
    }
  }

  /**
   * Passes `call` through; if it has not settled after `maxStoreDownMs`, the service is declared
   * failed (never with 0: no bound).
   */
  async watch<T>(source: string, call: Promise<T>): Promise<T> {
    const { maxStoreDownMs } = this.options;
    if (maxStoreDownMs === 0) return call;
    const timer = setTimeout(
      () => this.declareFatal(`store call from ${source} unanswered for more than ${maxStoreDownMs} ms`),
      maxStoreDownMs,
    );
    try {
      return await call;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The service has stopped: a call it left unanswered reports nothing (a stopped worker logged
   * "giving up" a minute after it had stopped, when an outcome write it abandoned timed out).
   */
  close(): void {
    this.closed = true;
  }

  private declareFatal(message: string, cause?: unknown): void {
    if (this.fatal || this.closed) return;
    this.fatal = true;
    this.options.onFatal(
      new NightshiftError('database_unavailable', message, cause === undefined ? undefined : { cause }),
    );
  }
}
