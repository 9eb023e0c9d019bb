/**
 * Engine test harness: Nightshift instances on a real, isolated database per test, closed (workers
 * stopped, stores removed) after each test, plus an event probe with a bound.
 *
 * Backend: `NIGHTSHIFT_TEST_BACKEND=postgres` runs the same tests on PostgreSQL (a schema per store),
 * `NIGHTSHIFT_TEST_BACKEND=pgbouncer` on PostgreSQL through a test-started PgBouncer in transaction
 * mode; the default is SQLite (a temporary file per store).
 */
import { afterEach } from 'vitest';
import { Nightshift, type ConnectOptions } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';
import type { NightshiftEventName, NightshiftEvents } from '../../src/events.js';
import type { Store } from '../../src/store/store.js';
import type { StoreHarness } from '../support/store-harness.js';
import { sqliteHarness } from '../support/sqlite-harness.js';

/** Which backend these tests run on (PgBouncer is a route to PostgreSQL, not a backend of its own). */
export const BACKEND = ['postgres', 'pgbouncer'].includes(process.env['NIGHTSHIFT_TEST_BACKEND'] ?? '')
  ? 'postgres'
  : 'sqlite';

async function backendHarness(): Promise<StoreHarness> {
  if (BACKEND === 'postgres') {
    const { postgresHarness } = await import('../support/postgres-harness.js');
    return postgresHarness('engine');
  }
  return sqliteHarness();
}

/** Worker options that keep tests quick: fast polling, no background maintenance unless asked. */
export const FAST_WORKER = {
  pollIntervalMs: 20,
  finishFlushMs: 1,
  rescueIntervalMs: 0,
  pruneIntervalMs: 0,
  abortGraceMs: 200,
} as const;

/** Per-test engine environment; registers its own cleanup. */
export interface EngineEnv {
  /** The store harness (for `setJobFields` and friends). */
  harness(): StoreHarness;
  /** A fresh isolated database with a Nightshift instance on it. */
  connect(options?: Omit<ConnectOptions, 'db'>): Promise<Nightshift>;
  /** Another Nightshift instance on the same database as `ns`, as a second process would open it. */
  connectPeer(ns: Nightshift, options?: Omit<ConnectOptions, 'db'>): Promise<Nightshift>;
  /** Another raw store on the same database as `ns`. */
  peerStore(ns: Nightshift): Promise<Store>;
}

/** Sets up the environment for the current test file. */
export function engineEnv(): EngineEnv {
  let harness: StoreHarness | null = null;
  const instances: Nightshift[] = [];

  afterEach(async () => {
    // Forced: a test that left a handler hanging must not hold the next test for a grace period.
    for (const ns of instances.splice(0)) await ns.close({ force: true, graceMs: 0 });
    await harness?.close();
    harness = null;
  });

  const logger = createLogger({ level: process.env['NIGHTSHIFT_TEST_LOG'] ?? 'silent' });
  const ensure = async (): Promise<StoreHarness> => (harness ??= await backendHarness());

  const wrap = async (store: Store, options: Omit<ConnectOptions, 'db'>): Promise<Nightshift> => {
    const ns = await Nightshift.connect({ logger, ...options, db: store });
    instances.push(ns);
    return ns;
  };

  return {
    harness() {
      if (!harness) throw new Error('connect() first');
      return harness;
    },
    async connect(options = {}) {
      const store = await (await ensure()).open();
      return wrap(store, options);
    },
    async connectPeer(ns, options = {}) {
      const store = await (await ensure()).openPeer(ns.store);
      return wrap(store, options);
    },
    async peerStore(ns) {
      return (await ensure()).openPeer(ns.store);
    },
  };
}

/**
 * Resolves with the next `event` matching `filter`; rejects after `timeoutMs` so a broken test fails
 * with a message instead of hanging. Subscribe before triggering what emits it.
 */
export function nextEvent<K extends NightshiftEventName>(
  ns: Nightshift,
  event: K,
  filter: (payload: NightshiftEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<NightshiftEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = ns.events.once(
      event,
      (payload) => {
        clearTimeout(timer);
        resolve(payload);
      },
      filter,
    );
  });
}

/** A promise with its resolver outside: a gate a test opens when it wants a handler to go on. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

/** Counts the store's claims and those that came back empty (a spy: every call still goes to the database). */
export function countClaims(store: Store): { calls: number; empty: number } {
  const counts = { calls: 0, empty: 0 };
  const claim = store.jobClaim.bind(store);
  store.jobClaim = async (params) => {
    counts.calls += 1;
    const jobs = await claim(params);
    if (jobs.length === 0) counts.empty += 1;
    return jobs;
  };
  return counts;
}
