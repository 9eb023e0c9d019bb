/**
 * Turns the current alerts into events: every `intervalMs` it computes them (./alerts.ts) and emits
 * `alert:raised` for each one not seen at the previous reading and `alert:cleared` for each one gone.
 * It runs in the API server (`createApiServer` starts it, closing the server stops it): the process an
 * operator watches and scrapes, of which a deployment runs one or a few. Workers do not run it, so a
 * fleet of a hundred workers does not read the alerts a hundred times over. Each process running it
 * emits its own events; the alerts themselves come from the database, so all of them agree.
 *
 * A failed reading is logged with its error the first time; while readings keep failing (the database
 * away: one failure per interval for as long as the outage lasts), at most once a minute with how many
 * failed since, and the first reading that works again says so once.
 */
import { firstLine } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { Alert } from './alert.js';

/** What the monitor needs. */
export interface AlertMonitorDeps {
  compute: () => Promise<Alert[]>;
  events: EventBus;
  logger: Logger;
  intervalMs: number;
}

/** While readings keep failing, at most one warning per this interval after the first one's. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;

/** A running alert monitor; `stop()` ends it. */
export class AlertMonitor {
  private current = new Map<string, Alert>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The readings failed one after another up to now, and those since the last warning said so. */
  private failures = { inRow: 0, unlogged: 0, loggedAt: 0 };

  constructor(private readonly deps: AlertMonitorDeps) {}

  /** Reads the alerts now and then every `intervalMs`. */
  start(): this {
    this.tick();
    return this;
  }

  /**
   * Reads the alerts once and emits the changes; resolves when done (tests call it directly). A reading
   * that ends after `stop()` emits nothing.
   */
  async check(): Promise<void> {
    const alerts = await this.deps.compute();
    if (this.stopped) return;
    const next = new Map(alerts.map((alert) => [`${alert.kind} ${alert.subject}`, alert]));
    for (const [key, alert] of next) {
      const before = this.current.get(key);
      // A condition keeps the time it began at its first reading (queue_depth reports when it was read).
      if (before === undefined) this.deps.events.emit('alert:raised', alert);
      else next.set(key, { ...alert, since: before.since });
    }
    for (const [key, alert] of this.current) {
      if (!next.has(key)) this.deps.events.emit('alert:cleared', alert);
    }
    this.current = next;
  }

  /**
   * Stops reading. A reading under way is not waited for: on a database that does not answer it lasts
   * until its calls time out (over a minute) or the store closes, and it held the API server's close
   * that long; when it ends it emits and logs nothing.
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    void this.check()
      .then(
        () => {
          if (this.stopped || this.failures.inRow === 0) return;
          const failed = this.failures.inRow;
          this.failures = { inRow: 0, unlogged: 0, loggedAt: 0 };
          this.deps.logger.info(
            { failedReadings: failed },
            `reading alerts works again after ${failed} failed reading${failed === 1 ? '' : 's'}`,
          );
        },
        (error: unknown) => {
          if (!this.stopped) this.failed(error);
        },
      )
      .finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(() => this.tick(), this.deps.intervalMs);
        this.timer.unref();
      });
  }

  /** Logs a failed reading: the first of a row with its error, the next ones at most once a minute. */
  private failed(error: unknown): void {
    const now = Date.now();
    const failures = this.failures;
    failures.inRow += 1;
    if (failures.inRow === 1) {
      failures.loggedAt = now;
      this.deps.logger.warn({ err: error }, 'reading alerts failed; trying again at the next interval');
      return;
    }
    failures.unlogged += 1;
    if (now - failures.loggedAt < FAILURE_LOG_INTERVAL_MS) return;
    const since = failures.unlogged;
    failures.unlogged = 0;
    failures.loggedAt = now;
    this.deps.logger.warn(
      {
        failedReadings: failures.inRow,
        error: firstLine(error instanceof Error ? error.message : String(error)),
      },
      `reading alerts still fails: ${since} more failed reading${since === 1 ? '' : 's'} since the last warning, ${failures.inRow} in a row; trying again at the next interval`,
    );
  }
}
