/**
 * The alert monitor's log while readings fail (src/observe/alert-monitor.ts): with the database away,
 * every reading fails, and a warning with the whole stack at every interval buried the log for as long
 * as the outage lasted.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../src/events.js';
import { AlertMonitor, FAILURE_LOG_INTERVAL_MS } from '../../src/observe/alert-monitor.js';
import { captureLogger } from '../support/capture-logger.js';

const INTERVAL_MS = 5_000;

interface Line {
  level: number;
  msg: string;
  err?: { message: string; stack: string };
  failedReadings?: number;
  error?: string;
}

describe('alert monitor log while readings fail', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function monitorOn(compute: () => Promise<[]>): { monitor: AlertMonitor; logged: () => Line[] } {
    const { logger, lines } = captureLogger();
    const monitor = new AlertMonitor({
      compute,
      events: new EventBus(logger),
      logger,
      intervalMs: INTERVAL_MS,
    });
    return { monitor, logged: () => lines.splice(0).map((line) => JSON.parse(line) as Line) };
  }

  it('warns with the error at the first failure, then at most once a minute, and says when readings work again', async () => {
    let down = true;
    const { monitor, logged } = monitorOn(() =>
      down ? Promise.reject(new Error('connection refused\nsecond line')) : Promise.resolve([]),
    );
    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    const [first, ...rest] = logged();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      level: 40,
      msg: 'reading alerts failed; trying again at the next interval',
    });
    expect(first?.err?.stack).toMatch(/connection refused/);

    // Eleven more failed readings within the minute: nothing logged.
    await vi.advanceTimersByTimeAsync(FAILURE_LOG_INTERVAL_MS - 1);
    expect(logged()).toEqual([]);
    // The twelfth, a minute after the first warning: one line, with the count and no stack.
    await vi.advanceTimersByTimeAsync(1);
    expect(logged()).toEqual([
      {
        ...expectedLine(40),
        failedReadings: 13,
        error: 'connection refused',
        msg: 'reading alerts still fails: 12 more failed readings since the last warning, 13 in a row; trying again at the next interval',
      },
    ]);
    await vi.advanceTimersByTimeAsync(FAILURE_LOG_INTERVAL_MS - 1);
    expect(logged()).toEqual([]);

    down = false;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(logged()).toEqual([
      {
        ...expectedLine(30),
        failedReadings: 24,
        msg: 'reading alerts works again after 24 failed readings',
      },
    ]);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(logged()).toEqual([]);

    // A new outage starts a new row: its first failure is logged in full at once.
    down = true;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(logged()).toMatchObject([
      { level: 40, msg: 'reading alerts failed; trying again at the next interval' },
    ]);
    monitor.stop();
  });

  /** A monitor whose readings stay under way until the test settles each one. */
  function monitorSettledByHand(): {
    monitor: AlertMonitor;
    logged: () => Line[];
    readings: Array<(works: boolean) => void>;
  } {
    const readings: Array<(works: boolean) => void> = [];
    const compute = () =>
      new Promise<[]>((resolve, reject) => {
        readings.push((works) => (works ? resolve([]) : reject(new Error('down'))));
      });
    return { ...monitorOn(compute), readings };
  }

  it('after stop() logs nothing, neither a reading that fails nor one that works, and reads no more', async () => {
    for (const worksAfterStop of [false, true]) {
      const { monitor, logged, readings } = monitorSettledByHand();
      monitor.start();
      readings[0]!(false);
      await vi.advanceTimersByTimeAsync(INTERVAL_MS);
      expect(logged()).toHaveLength(1);
      // The second reading is under way when the monitor stops: however it ends, nothing is logged.
      monitor.stop();
      readings[1]!(worksAfterStop);
      await vi.advanceTimersByTimeAsync(10 * FAILURE_LOG_INTERVAL_MS);
      expect(logged()).toEqual([]);
      expect(readings).toHaveLength(2);
    }
  });
});

/** The fields pino adds to every line, at `level`. */
function expectedLine(level: number): Record<string, unknown> {
  return { level, time: expect.any(Number), pid: expect.any(Number), hostname: expect.any(String) };
}
