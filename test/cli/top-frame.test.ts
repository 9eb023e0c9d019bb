/** The `nightshift top` frame: cut to the terminal's width and height, rates and durations as read. */
import { describe, expect, it } from 'vitest';
import { duration, renderFrame } from '../../src/cli/top/frame.js';
import type { TopSnapshot } from '../../src/cli/top/snapshot.js';

const snapshot: TopSnapshot = {
  at: '2026-12-03T22:00:00.000Z',
  queues: [
    {
      name: 'emails',
      counts: { scheduled: 1, queued: 2, running: 3, completed: 40, failed: 5, cancelled: 0 },
      oldestReadyAgeMs: null,
      paused: null,
      completedPerSec: 12.4,
      failedPerSec: 0.5,
    },
  ],
  running: Array.from({ length: 30 }, (_, i) => ({
    id: `job-${i}`,
    task: 'send',
    queue: 'emails',
    workerId: 'host:1',
    attempt: 1,
    runningForMs: 65_000,
  })),
  runningTotal: 30,
  stuck: [],
  schedules: [
    {
      id: 'nightly',
      task: 'export',
      condition: 'suspended',
      consecutiveFailures: 5,
      lastError: 'boom',
      suspendedReason: '5 consecutive failures',
    },
  ],
};

describe('the top frame', () => {
  it('fits the width and the height, saying how many lines it left out', () => {
    const lines = renderFrame(snapshot, { width: 40, height: 12 }, 1000);
    expect(lines).toHaveLength(12);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines.at(-1)).toMatch(/^… \d+ more lines/);
    expect(lines.join('\n')).toContain('SCHEDULES NEEDING ATTENTION (1)');
  });

  it('shows counts, rates and ages as an operator reads them', () => {
    const text = renderFrame(snapshot, { width: 200, height: 100 }, 1000).join('\n');
    expect(text).toMatch(/emails +1 +2 +3 +40 +5 +0 +- +- +12 +0\.5/);
    expect(text).toContain('job-29');
    expect(text).toContain('1m05s');
    expect([duration(850), duration(12_000), duration(7_500_000), duration(90_000_000)]).toEqual([
      '850ms',
      '12s',
      '2h05m',
      '1d01h',
    ]);
  });
});
