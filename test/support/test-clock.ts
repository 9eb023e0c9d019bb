/** Clocks tests move by hand, injected into stores that accept one. */

/** Starts at the real time and moves only when told. */
export class TestClock {
  private current: number;

  constructor(start: number = Date.now()) {
    this.current = start;
  }

  /** The clock function to inject; bound so it can be passed around. */
  readonly now = (): number => this.current;

  /** Moves the clock forward (or back, with a negative `ms`). */
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Refuses a time a store's clock could not take exactly (PostgreSQL keeps microseconds, no more). */
function checkWholeMs(ms: number): void {
  if (!Number.isSafeInteger(ms)) throw new Error(`clock times and steps are whole ms, got ${ms}`);
}

/**
 * A store's clock as the harnesses move it (StoreHarness.advanceClock, freezeClock): the host's clock
 * shifted by the sum of `advance` calls, or, once frozen, one instant that only `advance` moves.
 */
export class MovableClock {
  /** Added to the host's clock while running. */
  shiftMs = 0;
  /** The instant it stands at, once frozen. */
  frozenAt: number | undefined;

  /** The clock function to inject; bound so it can be passed around. */
  readonly now = (): number => this.frozenAt ?? Date.now() + this.shiftMs;

  /** Moves the clock forward (or back, with a negative `ms`); a frozen clock stays frozen. */
  advance(ms: number): void {
    checkWholeMs(ms);
    if (this.frozenAt === undefined) this.shiftMs += ms;
    else this.frozenAt += ms;
  }

  /** Stops the clock at `at` (ms since the epoch). */
  freeze(at: number): void {
    checkWholeMs(at);
    this.frozenAt = at;
  }
}
