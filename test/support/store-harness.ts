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
 * - `advanceClock` and `freezeClock` move the clock of a store and of its peers (the database's clock
 *   on both backends: SQLite's is the host's, shifted by the harness; PostgreSQL's is the schema's
 *   `nightshift_now()`, replaced by test/support/postgres-test-clock.ts), so "an hour later" is one
 *   line instead of an hour of waiting. A frozen clock makes 1 ms boundaries testable on both.
 * - `setJobFields` writes columns directly with the backend's own SQL, bypassing the state machine,
 *   for a row the clock cannot produce (one job's lease lapsed among others still held, an attempt
 *   count, a creation order).
 * - `setSchemaVersion` records a migration version as a newer nightshift would have.
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
  /** A fresh, migrated, isolated store (reporting throwing event listeners to `logger` when given). */
  open(options?: { logger?: Logger }): Promise<Store>;
  /** Another store on the same database as `store`, on the same clock. */
  openPeer(store: Store): Promise<Store>;
  /** A fresh, isolated, unmigrated store. */
  openEmpty(): Promise<Store>;
  /**
   * Moves the clock of `store` and its peers by `ms` (whole ms; back when negative). A running clock
   * keeps running from there; a frozen one stays frozen at the new time.
   */
  advanceClock(store: Store, ms: number): Promise<void>;
  /** Stops the clock of `store` and its peers at `at` (ms since the epoch); then only advanceClock moves it. */
  freezeClock(store: Store, at: number): Promise<void>;
  /** Writes job columns directly. */
  setJobFields(store: Store, id: string, fields: JobFields): Promise<void>;
  /** Records `version` as applied, as a newer nightshift's migration would. */
  setSchemaVersion(store: Store, version: number): Promise<void>;
  /** Closes every store opened since the last call and removes their databases. */
  close(): Promise<void>;
}
