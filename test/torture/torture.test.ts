/**
 * A short torture run per backend (issue 19; the long ones are `npm run torture`): worker and
 * scheduler processes under the seeded workload and faults, then the checker. The run must hold every
 * property, must really have injected faults, and the same checker must catch a doctored history.
 */
import { afterAll, describe, it } from 'vitest';
import { ownPostgresUnavailable } from '../support/own-postgres.js';
import { checkRun } from './checker.js';
import type { HistoryEvent } from './history.js';
import { removeRunDirectory, runTorture, type TortureReport } from './run.js';

// About 20 s of faults, then the drain and the checker; generous for two loaded cores.
const MINUTES = 0.35;
const TIMEOUT_MS = 240_000;
const reports: TortureReport[] = [];

afterAll(() => {
  for (const report of reports) if (report.violations.length === 0) removeRunDirectory(report);
});

const backends = [
  { backend: 'sqlite' as const, skip: null },
  { backend: 'postgres' as const, skip: ownPostgresUnavailable() },
];

// The two runs share nothing (a file and a server of their own) and spend most of their time waiting
// out the fault timeline, so they run side by side.
describe.concurrent.each(backends)('torture on $backend', ({ backend, skip }) => {
  it.skipIf(skip !== null)(
    'keeps every property through kills, freezes, stops and storage faults, and the checker catches a doctored history',
    async ({ expect }) => {
      const report = await runTorture({ backend, minutes: MINUTES, seed: 19 });
      reports.push(report);
      const shown = report.violations
        .map((v, i) => [v.message, ...(report.excerpts[i] ?? [])].join('\n'))
        .join('\n\n');
      expect(report.violations, `${shown}\nreplay: ${report.replay}`).toEqual([]);
      expect(report.stats.acknowledged).toBeGreaterThan(20);
      expect(report.stats.executions).toBeGreaterThan(20);
      // Jobs under a concurrency key ran too, so the key's limit and slot count were checked.
      expect(
        report.final.jobs.filter((job) => job.concurrencyKey !== null && job.state === 'completed').length,
      ).toBeGreaterThan(3);
      // Fan-outs ran too, so their children were checked against all-or-none and once per key.
      expect(
        report.final.jobs.filter((job) => job.task === 'fanout' && job.state === 'completed').length,
      ).toBeGreaterThan(0);
      // Faults really happened: several kinds, a kill -9 among them (the first round covers every kind).
      expect(Object.keys(report.stats.faults).length).toBeGreaterThanOrEqual(3);
      expect(Object.values(report.stats.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

      // The same run, doctored: a second completion of a completed job and an acknowledged enqueue
      // of a job the database never had.
      const completed = report.final.jobs.find((job) => job.state === 'completed');
      expect(completed).toBeDefined();
      const last = report.events.at(-1)?.t ?? 0;
      const doctored: HistoryEvent[] = [
        ...report.events,
        { t: last + 1, proc: 'doctor', kind: 'completed_event', jobId: completed?.id ?? '', attempt: 9 },
        { t: last + 2, proc: 'doctor', kind: 'completed_event', jobId: completed?.id ?? '', attempt: 10 },
        {
          t: last + 3,
          proc: 'doctor',
          kind: 'op',
          op: 1_000_000,
          action: 'enqueue',
          args: { task: 'quick', payload: { n: 1, ms: 1 } },
        },
        {
          t: last + 4,
          proc: 'doctor',
          kind: 'ack',
          op: 1_000_000,
          result: { jobId: 'never-stored', created: true },
        },
      ];
      const found = checkRun(doctored, report.final);
      expect(found.map((v) => [v.property, v.jobId])).toEqual(
        expect.arrayContaining([
          ['completed_twice', completed?.id],
          ['lost_enqueue', 'never-stored'],
        ]),
      );
    },
    TIMEOUT_MS,
  );
});
