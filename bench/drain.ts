/**
 * Enqueue and drain cost of one nightshift build against another: on a fresh store, times the enqueue
 * of N no-op jobs (`enqueueMany` calls of 1,000, one after another), then one worker (concurrency C)
 * from start until every job completed, on PostgreSQL and SQLite, builds interleaved round by round so
 * machine noise hits both alike. Written to measure the event log's cost (a build of main against this
 * one), usable for any change of the hot path or of the insert.
 *
 *   node --import tsx bench/drain.ts --build main=/path/to/main/dist --build branch=dist \
 *     [--jobs 20000] [--concurrency 100] [--rounds 3] [--backends postgres,sqlite]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDatabase } from './postgres-database.js';
import { median } from './stats.js';

interface Library {
  Nightshift: {
    connect(options: object): Promise<{
      enqueueMany(items: Array<{ task: string; payload: unknown }>): Promise<unknown>;
      startWorker(options: object): unknown;
      events: { on(event: string, listener: () => void): () => void };
      close(): Promise<void>;
    }>;
  };
  createLogger(options: { level: string }): unknown;
}

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'postgres,sqlite' },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const builds = (values.build ?? []).map((spec) => {
  const [name, dir] = spec.split('=');
  if (!name || !dir) throw new Error(`--build wants name=dist-directory, got ${spec}`);
  return { name, dir: path.resolve(dir) };
});
if (builds.length === 0) throw new Error('give at least one --build name=dist-directory');

/** Milliseconds of one round's two phases. */
interface Timings {
  /** From the first `enqueueMany` call to the last one's answer. */
  enqueue: number;
  /** From startWorker to the last completion. */
  drain: number;
}

/** One timed enqueue and drain on a fresh store. */
async function drain(lib: Library, backend: string): Promise<Timings> {
  let db: string;
  let cleanup: () => Promise<void>;
  if (backend === 'postgres') {
    const created = await createDatabase('drain');
    db = created.url;
    cleanup = created.drop;
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ns-drain-'));
    db = `sqlite:${path.join(dir, 'bench.db')}`;
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  const ns = await lib.Nightshift.connect({
    db,
    logger: lib.createLogger({ level: 'silent' }),
    tasks: { noop: () => undefined },
  });
  try {
    const enqueueStarted = performance.now();
    for (let start = 0; start < jobs; start += 1000) {
      const size = Math.min(1000, jobs - start);
      await ns.enqueueMany(
        Array.from({ length: size }, (_, i) => ({ task: 'noop', payload: { seq: start + i } })),
      );
    }
    const enqueue = performance.now() - enqueueStarted;
    let completed = 0;
    const done = new Promise<void>((resolve) => {
      ns.events.on('job:completed', () => {
        completed += 1;
        if (completed === jobs) resolve();
      });
    });
    const started = performance.now();
    ns.startWorker({ concurrency });
    await done;
    return { enqueue, drain: performance.now() - started };
  } finally {
    await ns.close();
    await cleanup();
  }
}

const libraries = await Promise.all(
  builds.map(async (b) => ({
    ...b,
    lib: (await import(pathToFileURL(path.join(b.dir, 'index.js')).href)) as Library,
  })),
);
const rate = (ms: number): string => `${Math.round((jobs / ms) * 1000)} jobs/s`;
const results = new Map<string, Timings[]>();
for (let round = 1; round <= rounds; round += 1) {
  for (const backend of values.backends.split(',')) {
    for (const { name, lib } of libraries) {
      const timings = await drain(lib, backend);
      const key = `${backend} ${name}`;
      results.set(key, [...(results.get(key) ?? []), timings]);
      console.log(
        `round ${round} ${key}: enqueue ${(timings.enqueue / 1000).toFixed(2)} s (${rate(timings.enqueue)}), ` +
          `drain ${(timings.drain / 1000).toFixed(2)} s (${rate(timings.drain)})`,
      );
    }
  }
}
console.log(`\n${jobs} no-op jobs, concurrency ${concurrency}, ${rounds} rounds (median):`);
const seconds = (list: number[]): string => list.map((ms) => (ms / 1000).toFixed(2)).join(', ');
for (const [key, list] of results) {
  for (const phase of ['enqueue', 'drain'] as const) {
    const times = list.map((timings) => timings[phase]);
    const ms = median(times);
    console.log(`${key} ${phase}: ${(ms / 1000).toFixed(2)} s, ${rate(ms)}  [${seconds(times)}]`);
  }
}
