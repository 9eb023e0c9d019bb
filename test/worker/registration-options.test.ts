/** The registry's worker options: defaults, ranges, and a stale bound that must exceed the heartbeat. */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { resolveWorkerOptions } from '../../src/worker/options.js';

describe('worker registry options', () => {
  it('defaults to a heartbeat every 5 s and a 30 s stale bound', () => {
    expect(resolveWorkerOptions({})).toMatchObject({ heartbeatIntervalMs: 5_000, workerStaleMs: 30_000 });
  });

  it.each([
    [{ heartbeatIntervalMs: 50 }, /heartbeatIntervalMs must be an integer from 100/],
    [{ workerStaleMs: 1.5 }, /workerStaleMs must be an integer/],
    [{ heartbeatIntervalMs: 30_000 }, /workerStaleMs \(30000\) must exceed heartbeatIntervalMs \(30000\)/],
    [{ heartbeatIntervalMs: 1_000, workerStaleMs: 500 }, /must exceed/],
    // A worker beating every 20 s would drop out of ns.workers() (30 s) between two late beats.
    [
      { heartbeatIntervalMs: 20_000, workerStaleMs: 120_000 },
      /heartbeatIntervalMs \(20000\) must be at most 15000: ns\.workers\(\), the alerts and the throttled counts/,
    ],
  ])('refuses %o', (options, message) => {
    let caught: unknown;
    try {
      resolveWorkerOptions(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NightshiftError);
    expect((caught as NightshiftError).code).toBe('invalid_argument');
    expect((caught as NightshiftError).message).toMatch(message);
  });
});
