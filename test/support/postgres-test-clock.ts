/**
 * A PostgreSQL store's clock moved by hand, as test/support/test-clock.ts serves SQLite. Every statement
 * of the store reads the time through its schema's `nightshift_now()` (migration 016: the database's
 * now()); this replaces that function, so every store on the schema (peers, other processes) sees the
 * new time from its next transaction on, prepared statements included (their kept plans depend on the
 * function and are replanned).
 *
 * The clock runs on the database's now() shifted by the sum of `advance` calls, or, once frozen, stands
 * at one instant that only `advance` moves (MovableClock). One instance per schema: it keeps that state.
 */
import pg from 'pg';
import { TEST_PG_URL } from './postgres-harness.js';
import { MovableClock } from './test-clock.js';

// One connection for every clock of the process, opened on first use: a test may move its clock
// hundreds of times (a schedule stepped through four days), and a connection per move cost more than
// the move. Idle, it closes and never holds the process open.
let admin: pg.Pool | undefined;

/** The clock of the stores in one schema. */
export class PostgresTestClock {
  private readonly clock = new MovableClock();

  constructor(readonly schema: string) {}

  /** Stops the clock at `at` (ms since the epoch); `advance` then moves it. */
  async freeze(at: number): Promise<void> {
    this.clock.freeze(at);
    await this.apply();
  }

  /** Moves the clock forward (or back, with a negative `ms`). */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.apply();
  }

  // The declaration of migration 016, body aside: a STABLE one-SELECT LANGUAGE sql function with no SET
  // option, so the planner still inlines it (test/postgres/store-clock.test.ts checks it does).
  private async apply(): Promise<void> {
    const { frozenAt, shiftMs } = this.clock;
    const body =
      frozenAt === undefined
        ? `SELECT pg_catalog.now() + interval '${shiftMs} milliseconds'`
        : `SELECT timestamptz '${new Date(frozenAt).toISOString()}'`;
    admin ??= new pg.Pool({
      connectionString: TEST_PG_URL,
      max: 1,
      idleTimeoutMillis: 1_000,
      allowExitOnIdle: true,
    });
    await admin.query(
      `CREATE OR REPLACE FUNCTION "${this.schema}".nightshift_now() RETURNS timestamptz
       LANGUAGE sql STABLE PARALLEL SAFE AS $$${body}$$`,
    );
  }
}
