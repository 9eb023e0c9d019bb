/**
 * The REST API's cost per enqueue (issue 15): `POST /api/v1/jobs` against the library's own
 * `ns.enqueue` on both backends, at 1, 10 and 50 concurrent clients, each client sending its next
 * request when the previous one answered. Reports throughput, p50/p99 latency and the API's overhead
 * per job (the difference of the two per-job times at the same concurrency).
 *
 * Server and clients share this process (fetch with keep-alive from Node's undici), so the overhead
 * includes the client's HTTP work as well as Fastify's, the bearer-token check and JSON: what a caller
 * on the same machine pays. No worker runs: it measures enqueueing alone.
 *
 * `npm run bench:api` runs it alone; `npm run bench` runs it after the system comparison.
 * NIGHTSHIFT_BENCH_API_JOBS sets the requests per measurement (default 2,000; a quarter at 1 client).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Nightshift, createLogger } from '../dist/index.js';
import { issueToken, startApiServer } from '../dist/api/index.js';
import { createDatabase } from './postgres-database.js';
import { summarize, type LatencySummary } from './stats.js';

const CLIENTS = [1, 10, 50] as const;
const JOBS = Number(process.env['NIGHTSHIFT_BENCH_API_JOBS'] ?? 2_000);

/** One measurement: who sent, how many at once, and what it took. */
export interface ApiBenchRow {
  backend: 'sqlite' | 'postgres';
  clients: number;
  via: 'library' | 'api';
  jobs: number;
  jobsPerSecond: number;
  latencyMs: LatencySummary;
}

async function drive(jobs: number, clients: number, send: () => Promise<void>) {
  const samples: number[] = [];
  let left = jobs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left > 0) {
        left -= 1;
        const t = performance.now();
        await send();
        samples.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  return { jobsPerSecond: jobs / seconds, latencyMs: summarize(samples) };
}

async function openBackend(backend: 'sqlite' | 'postgres') {
  if (backend === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-api-bench-'));
    return {
      db: `sqlite:${path.join(dir, 'bench.db')}`,
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const { url, drop } = await createDatabase('api');
  return { db: url, drop };
}

/** Measures both backends at every concurrency; library and API alternate at each level. */
export async function runApiBench(log: (line: string) => void): Promise<ApiBenchRow[]> {
  const rows: ApiBenchRow[] = [];
  for (const backend of ['sqlite', 'postgres'] as const) {
    const { db, drop } = await openBackend(backend);
    const ns = await Nightshift.connect({
      db,
      logger: createLogger({ level: 'silent' }),
      tasks: { noop: () => null },
    });
    const { secret } = await issueToken(ns.store, { name: 'bench', role: 'operator' });
    const { app, url } = await startApiServer({
      ns,
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
    });
    const body = JSON.stringify({ task: 'noop', payload: { n: 1 } });
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const viaApi = async (): Promise<void> => {
      const response = await fetch(`${url}/api/v1/jobs`, { method: 'POST', headers, body });
      if (response.status !== 201)
        throw new Error(`POST /api/v1/jobs answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    };
    const viaLibrary = async (): Promise<void> => {
      await ns.untyped.enqueue('noop', { n: 1 });
    };
    try {
      // Warm-up: JIT, connection pools, keep-alive sockets.
      await drive(300, 10, viaLibrary);
      await drive(300, 10, viaApi);
      for (const clients of CLIENTS) {
        const jobs = clients === 1 ? Math.ceil(JOBS / 4) : JOBS;
        for (const [via, send] of [
          ['library', viaLibrary],
          ['api', viaApi],
        ] as const) {
          const m = await drive(jobs, clients, send);
          rows.push({ backend, clients, via, jobs, ...m });
          log(
            `${backend} ${via} x${clients}: ${m.jobsPerSecond.toFixed(0)} jobs/s, p50 ${m.latencyMs.p50.toFixed(2)} ms, p99 ${m.latencyMs.p99.toFixed(2)} ms`,
          );
        }
      }
    } finally {
      await app.close();
      await ns.close();
      await drop();
    }
  }
  return rows;
}

/** A table: per backend and concurrency, library vs API and the API's overhead per job. */
export function formatApiBench(rows: readonly ApiBenchRow[]): string {
  const lines = [
    '| backend | clients | ns.enqueue jobs/s | p50 / p99 ms | POST /jobs jobs/s | p50 / p99 ms | API overhead per job |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const lib of rows.filter((r) => r.via === 'library')) {
    const api = rows.find((r) => r.via === 'api' && r.backend === lib.backend && r.clients === lib.clients);
    if (!api) continue;
    const overheadUs = 1e6 / api.jobsPerSecond - 1e6 / lib.jobsPerSecond;
    const ms = (l: LatencySummary) => `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)}`;
    lines.push(
      `| ${lib.backend} | ${lib.clients} | ${lib.jobsPerSecond.toFixed(0)} | ${ms(lib.latencyMs)} | ${api.jobsPerSecond.toFixed(0)} | ${ms(api.latencyMs)} | ${overheadUs.toFixed(0)} µs |`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runApiBench((line) => process.stderr.write(`[bench:api] ${line}\n`));
  console.log(formatApiBench(rows));
}
