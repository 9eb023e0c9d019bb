/**
 * What the store conformance suite (test/conformance) needs from a backend. Each backend provides one
 * harness (test/support/sqlite-harness.ts, test/support/postgres-harness.ts) and runs
 * `describeStoreConformance(name, harness)` unchanged.
 *
 * Contract for implementers:
 * - `open()` returns a fresh, migrated store isolated from every other test (SQLite: a new file;
 *   PostgreSQL: a new schema), remembered so `close()` can drop it.
 * - `openPeer(store)` returns a second store on the same database, as another process would open it.
 * - `openEmpty()` returns a fresh isolated store that has NOT been migrated.
 * - `setJobFields` writes columns directly with the backend's own SQL, bypassing the state machine,
 *   so "lease ended an hour ago" is one line of setup instead of an hour of waiting.
 * - `setSchemaVersion` records a migration version as a newer nightshift would have.
 * - `injectableClock`: true when `open({ clock })` makes the store use that clock; false when the
 *   store always reads the database's clock (tests then place times relative to `store.now()` and
 *   keep margins instead of 1 ms boundaries).
 */
import type { JobState } from '../../src/job.js';
import type { Logger } from '../../src/logger.js';
import type { Store } from '../../src/store/store.js';

/** Columns a test may set directly on a job row. Omitted fields are left as they are. */
export interface JobFields {
  state?: JobState;
  priority?: number;
  attempt?: number;
  maxAttempts?: number;
  runAt?: Date;
  createdAt?: Date;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  leaseToken?: string | null;
  leaseExpiresAt?: Date | null;
  workerId?: string | null;
  cancelRequested?: boolean;
}

/** A backend's test harness for the conformance suite. */
export interface StoreHarness {
  /** Whether `open({ clock })` injects the clock (see the module comment). */
  readonly injectableClock: boolean;
  /** A fresh, migrated, isolated store (reporting throwing event listeners to `logger` when given). */
  open(options?: { clock?: () => number; logger?: Logger }): Promise<Store>;
  /** Another store on the same database as `store` (same clock, if one was injected). */
  openPeer(store: Store): Promise<Store>;
  /** A fresh, isolated, unmigrated store. */
  openEmpty(): Promise<Store>;
  /** Writes job columns directly. */
  setJobFields(store: Store, id: string, fields: JobFields): Promise<void>;
  /** Records `version` as applied, as a newer nightshift's migration would. */
  setSchemaVersion(store: Store, version: number): Promise<void>;
  /** Closes every store opened since the last call and removes their databases. */
  close(): Promise<void>;
}
