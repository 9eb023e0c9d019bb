/** The registry's worker options: defaults, ranges, and a stale bound that must exceed the heartbeat. */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { resolveWorkerOptions } from '../../src/worker/options.js';

describe('worker registry options', () => {
  it('defaults to a heartbeat every 5 s and a 30 s stale bound', () => {
    expect(resolveWorkerOptions({})).toMatchObject({ heartbeatIntervalMs: 5_000, workerStaleMs: 30_000 });
  });

  it('takes a slow heartbeat with a stale bound to match: readers judge each worker by its own bound', () => {
    const slow = { heartbeatIntervalMs: 60_000, workerStaleMs: 300_000 };
    expect(resolveWorkerOptions(slow)).toMatchObject(slow);
  });

  it.each([
    [{ heartbeatIntervalMs: 50 }, /heartbeatIntervalMs must be an integer from 100/],
    [{ workerStaleMs: 1.5 }, /workerStaleMs must be an integer/],
    [{ heartbeatIntervalMs: 30_000 }, /workerStaleMs \(30000\) must exceed heartbeatIntervalMs \(30000\)/],
    [{ heartbeatIntervalMs: 1_000, workerStaleMs: 500 }, /must exceed/],
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
