/** A clock tests move by hand, injected into stores that accept one. */

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
