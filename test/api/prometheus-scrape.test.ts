/**
 * A real Prometheus (Debian's package) scrapes GET /metrics of a real API server, without a token as
 * the public contract allows, after a known workload; its HTTP API must then report the values of the
 * workload and the database. The scrape config is the one docs/METRICS.md shows.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  prometheusUnavailable,
  startPrometheus,
  type Prometheus,
  type Sample,
} from '../support/prometheus.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';
import { METRICS_TASKS } from './metrics-workload.js';

vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

// The workload: jobs that complete, jobs that fail (each after a retry), jobs delayed for an hour.
const OK = 5;
const BOOM = 2;
const DELAYED = 3;

const key = (labels: Record<string, string>, names: string[]): string =>
  names.map((n) => labels[n] ?? '').join('/');

/** The samples of `promql` as `queue/task[/outcome]` → value. */
async function byLabels(
  prometheus: Prometheus,
  promql: string,
  names: string[],
): Promise<Map<string, number>> {
  const samples: Sample[] = await prometheus.query(promql);
  return new Map(samples.map((s) => [key(s.labels, names), s.value]));
}

const unavailable = prometheusUnavailable();
// The reason shows in the skipped suite's name: CI installs Prometheus, a laptop may not have it.
const skipped = unavailable === null ? '' : ` (skipped: ${unavailable})`;

describe.skipIf(unavailable !== null).each(BACKENDS)(
  `a Prometheus server scraping /metrics on %s${skipped}`,
  (backend) => {
    let s: TestServer;
    let prometheus: Prometheus;

    beforeAll(async () => {
      s = await startTestServer(backend, { tasks: METRICS_TASKS });
      const target = new URL(s.url).host;
      prometheus = await startPrometheus(
        ['  - job_name: nightshift', '    static_configs:', `      - targets: ['${target}']`, ''].join('\n'),
      );

      const ns = s.ns.untyped;
      const ids: string[] = [];
      for (let i = 0; i < OK; i += 1) ids.push((await ns.enqueue('ok', {})).id);
      for (let i = 0; i < BOOM; i += 1) ids.push((await ns.enqueue('boom', {}, { queue: 'mail' })).id);
      await ns.enqueueMany(
        Array.from({ length: DELAYED }, () => ({
          task: 'ok',
          payload: {},
          options: { queue: 'later', delayMs: 3_600_000 },
        })),
      );
      const worker = ns.startWorker({ queues: ['default', 'mail'], concurrency: 2, pollIntervalMs: 50 });
      await Promise.all(ids.map((id) => s.ns.waitFor(id, { timeoutMs: 20_000 })));
      await worker.stop();
    });
    afterAll(async () => {
      await prometheus?.stop();
      await s?.close();
    });

    it('reports the target up and the workload counters', async () => {
      const counters = async () => ({
        up: await byLabels(prometheus, 'up', ['job']),
        enqueued: await byLabels(prometheus, 'nightshift_jobs_enqueued_total{job="nightshift"}', [
          'queue',
          'task',
        ]),
        attempts: await byLabels(prometheus, 'nightshift_job_attempts_total{job="nightshift"}', [
          'queue',
          'task',
          'outcome',
        ]),
      });
      const expected = {
        up: new Map([['nightshift', 1]]),
        enqueued: new Map([
          ['default/ok', OK],
          ['mail/boom', BOOM],
          ['later/ok', DELAYED],
        ]),
        attempts: new Map([
          ['default/ok/completed', OK],
          ['mail/boom/retried', BOOM],
          ['mail/boom/failed', BOOM],
        ]),
      };
      // Prometheus scrapes every second: poll until a scrape after the workload has been stored.
      let last: Awaited<ReturnType<typeof counters>> | undefined;
      await waitUntil(
        async () => {
          last = await counters();
          // On a loaded machine an attempt may outlive its lease and be counted lease_lost besides its
          // real outcome; that is the metric telling the truth, not a miscount, so it is left out here.
          for (const key of [...last.attempts.keys()])
            if (key.endsWith('/lease_lost')) last.attempts.delete(key);
          return (
            JSON.stringify([...Object.values(last)].map((m) => [...m].sort())) ===
            JSON.stringify([...Object.values(expected)].map((m) => [...m].sort()))
          );
        },
        { timeoutMs: 20_000, intervalMs: 250, message: `Prometheus reports the workload` },
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}; last: ${JSON.stringify(last, (_k, v: unknown) => (v instanceof Map ? [...v] : v))}\n${prometheus.log().slice(-2000)}`,
        );
      });
      expect(last).toEqual(expected);
    });

    it('stores the queue gauges the database reports', async () => {
      const counts = await s.store.jobCountByQueue();
      const inDb = (queue: string, state: string): number =>
        counts.find((c) => c.queue === queue && c.state === state)?.count ?? 0;
      expect(inDb('later', 'scheduled')).toBe(DELAYED);
      const gauges = await waitUntil(
        async () => {
          const samples = await byLabels(prometheus, 'nightshift_queue_jobs{job="nightshift"}', [
            'queue',
            'state',
          ]);
          return samples.get('later/scheduled') === DELAYED ? samples : null;
        },
        { timeoutMs: 20_000, intervalMs: 250, message: 'Prometheus reports the queue gauges' },
      );
      // Every series Prometheus holds matches the database (a drained queue's series reads 0).
      for (const [series, value] of gauges) {
        const [queue = '', state = ''] = series.split('/');
        expect({ series, value }).toEqual({ series, value: inDb(queue, state) });
      }
    });
  },
);
