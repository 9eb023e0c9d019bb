/** The `nightshift top` frame: cut to the terminal's width and height, rates and durations as read. */
import { describe, expect, it } from 'vitest';
import { duration } from '../../src/cli/output.js';
import { MAX_NAME_WIDTH, renderFrame } from '../../src/cli/top/frame.js';
import type { TopSnapshot } from '../../src/cli/top/snapshot.js';

const snapshot: TopSnapshot = {
  at: '2026-12-03T22:00:00.000Z',
  queues: [
    {
      name: 'emails',
      counts: { scheduled: 1, queued: 2, running: 3, completed: 40, failed: 5, cancelled: 0 },
      oldestReadyAgeMs: 7_000,
      nextDueInMs: null,
      paused: true,
      throttled: {
        paused: 2,
        unserved: 0,
        queue_limit: 0,
        queue_rate: 0,
        labels: 1,
        key_limit: 0,
        key_rate: 0,
      },
      finishedCountsAgeMs: 0,
      completedPerSec: 12.4,
      failedPerSec: 0.5,
    },
  ],
  workers: [
    {
      id: 'box-1:4242:0190f2a1b3c4',
      host: 'box-1',
      pid: 4242,
      queues: ['emails', 'reports'],
      labels: ['gpu', 'region:eu'],
      tasks: ['email.send', 'report.build'],
      concurrency: 8,
      running: 3,
      staleMs: 30_000,
      startedAt: '2026-12-03T21:00:00.000Z',
      heartbeatAt: '2026-12-03T21:59:58.000Z',
      heartbeatAgeMs: 2_000,
    },
    {
      id: 'custom-worker',
      host: 'box-2',
      pid: 7,
      queues: null,
      labels: [],
      tasks: [],
      concurrency: 1,
      running: 0,
      staleMs: 30_000,
      startedAt: '2026-12-03T21:00:00.000Z',
      heartbeatAt: '2026-12-03T21:59:59.000Z',
      heartbeatAgeMs: 1_000,
    },
  ],
  alerts: [
    {
      kind: 'max_duration',
      subject: 'job:a',
      message: 'past',
      since: '2026-12-03T21:59:00.000Z',
      jobId: 'a',
    },
    {
      kind: 'max_duration',
      subject: 'job:b',
      message: 'past',
      since: '2026-12-03T21:59:00.000Z',
      jobId: 'b',
    },
    {
      kind: 'schedule_suspended',
      subject: 'schedule:nightly',
      message: 'suspended',
      since: '2026-12-03T21:00:00.000Z',
      scheduleId: 'nightly',
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

  it('fits the workers and the alerts line to a narrow terminal', () => {
    const lines = renderFrame(snapshot, { width: 30, height: 100 }, 1000);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(30);
    expect(lines[1]).toBe('ALERTS 3: max_duration 2, sche');
    expect(lines).toContain('WORKERS (2)');
  });

  it('cuts a long name in the middle so that the columns after it stay on the screen', () => {
    const long = `tenant-${'x'.repeat(200)}-eu-west-1`;
    const queue = snapshot.queues[0];
    if (queue === undefined) throw new Error('the snapshot has a queue');
    const running = {
      id: 'job-long',
      task: long,
      queue: long,
      workerId: long,
      attempt: 2,
      runningForMs: 3_000,
    };
    const lines = renderFrame(
      { ...snapshot, queues: [{ ...queue, name: long }], running: [running], runningTotal: 1 },
      { width: 120, height: 100 },
      1000,
    );
    const cut = `tenant-xxxxxxxxxxxx…xx-eu-west-1`;
    expect(cut).toHaveLength(MAX_NAME_WIDTH);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${cut} +1 +2 +3 +40 +5 +0 +7s +yes`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^job-long +${cut} +${cut} +${cut} +2 `)));
  });

  it('names a running or stuck job’s worker as its WORKERS row does, and a gone worker whole', () => {
    const job = { task: 'send', queue: 'emails', attempt: 1, runningForMs: 65_000 };
    const running = [
      { ...job, id: 'job-on-box-1', workerId: 'box-1:4242:0190f2a1b3c4' },
      { ...job, id: 'job-on-custom', workerId: 'custom-worker' },
    ];
    const stuck = [
      { ...job, id: 'job-stuck-here', workerId: 'box-1:4242:0190f2a1b3c4', reason: 'max_duration' as const },
      { ...job, id: 'job-stuck-gone', workerId: 'box-9:99:0190f2a1ffff', reason: 'lease_expired' as const },
    ];
    const lines = renderFrame(
      { ...snapshot, running, runningTotal: 2, stuck },
      { width: 200, height: 100 },
      1000,
    );
    expect(lines).toContainEqual(expect.stringMatching(/^0190f2a1b3c4 +box-1 +4242 /));
    expect(lines).toContainEqual(expect.stringMatching(/^job-on-box-1 +send +emails +0190f2a1b3c4 +1 /));
    expect(lines).toContainEqual(expect.stringMatching(/^job-on-custom +send +emails +custom-worker +1 /));
    expect(lines).toContainEqual(
      expect.stringMatching(/^job-stuck-here +send +emails +past max duration +1m05s +0190f2a1b3c4$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^job-stuck-gone +send +emails +lease expired +1m05s +box-9:99:0190f2a1ffff$/),
    );
  });

  it('shows counts, pauses, rates, workers, alerts and ages as an operator reads them', () => {
    const text = renderFrame(snapshot, { width: 200, height: 100 }, 1000).join('\n');
    expect(text).toMatch(/emails +1 +2 +3 +40 +5 +0 +7s +yes +12 +0\.5 +paused 2,labels 1/);
    expect(text).toContain('ALERTS 3: max_duration 2, schedule_suspended 1');
    // A default id loses the host and pid shown beside it; any other id is shown whole.
    expect(text).toMatch(/0190f2a1b3c4 +box-1 +4242 +emails,reports +gpu,region:eu +3\/8 +2s ago/);
    expect(text).toMatch(/custom-worker +box-2 +7 +all +- +0\/1 +1s ago/);
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
