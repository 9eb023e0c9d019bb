/**
 * Idle cost: one worker in its own process with nothing to do, watched for `--idle` seconds after a
 * 2 s settling time, with recommended settings at concurrency 10 and as installed. Reports the worker
 * process's CPU, the server's (PostgreSQL backends of the instance's database, or Redis), the server
 * transactions (Redis: commands) per second, and the connections the worker holds (those to the
 * database with the worker running, minus those without it). SQLite has no server: its cost is all in
 * the worker process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { countConnections, meterPostgres, meterRedis, processCpuMs } from '../server-cost.js';
import type { ServerCost } from '../server-cost.js';
import { failure, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { withSession } from '../session.js';
import type { BenchSystem, WorkerProfile } from '../system.js';
import { startWorkerFor } from '../worker-child.js';

const SETTLE_MS = 2_000;
const PROFILES: WorkerProfile[] = [
  { mode: 'recommended', concurrency: 10 },
  { mode: 'defaults', concurrency: 0 },
];

interface IdleCost {
  workerCpuMsPerSecond: number;
  server?: ServerCost;
  connections?: number;
}

function measure(system: BenchSystem, profile: WorkerProfile, seconds: number): Promise<IdleCost> {
  return withSession(system, async (session) => {
    const server = system.store === 'sqlite' ? undefined : system.store;
    const before = server === undefined ? 0 : await countConnections(server, session.database);
    const worker = await startWorkerFor(system, session, profile);
    try {
      await sleep(SETTLE_MS);
      const meter =
        session.database !== undefined
          ? await meterPostgres(session.database)
          : server === 'redis'
            ? await meterRedis()
            : undefined;
      const cpuStart = processCpuMs(worker.pid) ?? 0;
      await sleep(seconds * 1000);
      const cpuMs = (processCpuMs(worker.pid) ?? 0) - cpuStart;
      const cost = await meter?.stop();
      const after = server === undefined ? undefined : await countConnections(server, session.database);
      return {
        workerCpuMsPerSecond: cpuMs / seconds,
        ...(cost !== undefined && { server: cost }),
        ...(after !== undefined && { connections: after - before }),
      };
    } finally {
      await worker.stop();
    }
  });
}

/** Columns of the table; the last is each row's settings. */
const HEADER = ['system', 'worker', 'worker CPU ms/s', 'server CPU ms/s', 'tx/s', 'connections', 'settings'];

export const idleScenario: Scenario = {
  name: 'idle',
  inDefaultRun: true,
  async run({ systems, options, log }) {
    const rows: string[][] = [];
    for (const profile of PROFILES) {
      for (const system of systems) {
        const label = profile.mode === 'defaults' ? 'defaults' : `c${profile.concurrency}`;
        const settings = system.settings(profile);
        try {
          const m = await measure(system, profile, options.idleSeconds);
          const perSecond = (value: number | undefined): string =>
            value === undefined ? '-' : (value / options.idleSeconds).toFixed(1);
          rows.push([
            system.name,
            label,
            m.workerCpuMsPerSecond.toFixed(1),
            perSecond(m.server?.cpuMs),
            perSecond(m.server?.operations),
            m.connections === undefined ? '-' : String(m.connections),
            settings,
          ]);
          log(
            `idle ${system.name} ${label}: worker ${m.workerCpuMsPerSecond.toFixed(1)} ms/s, ${perSecond(m.server?.operations)} ops/s`,
          );
        } catch (error) {
          rows.push(messageRow([system.name, label], failure(error), HEADER.length, settings));
          log(`idle ${system.name} ${label}: ${failure(error)}`);
        }
      }
    }
    const section: Section = {
      title: `idle cost: one worker with nothing to do, ${options.idleSeconds} s`,
      notes: [
        'CPU in ms per second (from /proc schedstat, ns resolution); tx/s: PostgreSQL transactions of the database, or Redis commands',
        'connections: to the database (or Redis clients) held by the worker process; SQLite has no server',
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
