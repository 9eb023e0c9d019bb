/**
 * Start-up of a long-running service whose PostgreSQL server is not up yet (a supervisor started the
 * app before its database, or both restart together): the first connection is retried with the
 * running worker's backoff, for as long as the worker itself tolerates an outage (`maxStoreDownMs`),
 * saying so in the log; past that the command gives up with one clear line and exit code 1.
 *
 * The outage is timed from the start of the first attempt that failed: against a host that drops
 * packets, or a server that accepts connections and never answers, that attempt itself took the
 * connect timeout (10 s), and the bound is the bound whatever each attempt takes. Once the database
 * was found down, each further attempt gets what is left of the bound, but at least `LAST_ATTEMPT_MS`
 * (the last retry comes at the bound, and a refused connection should still say why); the first one is
 * left to the store's own timeouts, since on a reachable server it migrates the schema, which may take
 * long.
 *
 * Only `database_unavailable` on PostgreSQL is waited for: a server that refuses connections or is
 * still starting. Anything else (wrong password, a database that does not exist, a bad URL) will not
 * mend by waiting and fails at once. SQLite is never waited for here: an open that fails (missing
 * directory, permissions) stays failed, and a locked file is already retried by the store itself.
 */
import type { Logger } from 'pino';
import { NightshiftError } from '../errors.js';
import { resolveWorkerOptions } from '../worker/options.js';
import { Backoff } from '../runtime/backoff.js';

/** How long the retry made at the bound has to answer (ms). */
const LAST_ATTEMPT_MS = 1_000;

/** Where and how long to wait. */
export interface DatabaseWait {
  url: string;
  logger: Logger;
  /** The config's `worker.maxStoreDownMs`; the worker's default when absent. */
  maxStoreDownMs?: number;
}

/** Resolves with `attempt`'s result once the database answers; see the module comment. */
export async function waitForDatabase<T>(attempt: () => Promise<T>, wait: DatabaseWait): Promise<T> {
  if (!/^postgres(ql)?:\/\//.test(wait.url)) return attempt();
  const { maxStoreDownMs } = resolveWorkerOptions(
    wait.maxStoreDownMs === undefined ? {} : { maxStoreDownMs: wait.maxStoreDownMs },
  );
  const backoff = new Backoff();
  let downSince: number | null = null;
  for (;;) {
    const attemptStartedAt = performance.now();
    try {
      const result = await (downSince === null || maxStoreDownMs === 0
        ? attempt()
        : answeredWithin(
            attempt(),
            Math.max(LAST_ATTEMPT_MS, maxStoreDownMs - (attemptStartedAt - downSince)),
          ));
      if (downSince !== null) {
        wait.logger.info(
          { waitedMs: Math.round(performance.now() - downSince) },
          'database reachable; starting',
        );
      }
      return result;
    } catch (error) {
      if (!(error instanceof NightshiftError) || error.code !== 'database_unavailable') throw error;
      downSince ??= attemptStartedAt;
      // 0 is no bound, as for the running services (runtime/store-health.ts): wait as long as it takes.
      const leftMs = maxStoreDownMs === 0 ? Infinity : maxStoreDownMs - (performance.now() - downSince);
      if (leftMs <= 0) {
        throw new NightshiftError(
          'database_unavailable',
          `the database stayed unavailable for ${maxStoreDownMs} ms (worker.maxStoreDownMs); giving up: ${error.message}`,
          { cause: error },
        );
      }
      const retryInMs = Math.min(backoff.next(), Math.ceil(leftMs));
      wait.logger.warn(
        { err: error, retryInMs, ...(leftMs !== Infinity && { giveUpInMs: Math.round(leftMs) }) },
        'database unavailable at start; waiting for it',
      );
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

/**
 * `attempt`, or `database_unavailable` once it has gone `ms` without an answer. The attempt is left
 * running: the command gives up and its process exits, which ends it.
 */
async function answeredWithin<T>(attempt: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new NightshiftError(
            'database_unavailable',
            `PostgreSQL did not answer within ${Math.round(ms)} ms`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([attempt, silence]);
  } finally {
    clearTimeout(timer);
  }
}
