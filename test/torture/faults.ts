/**
 * The faults of a torture run, injected one after another on a seeded timeline. Every fault kind of
 * the backend comes once per round, in a seeded order, so even a short run sees each of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { OwnPostgres } from '../support/own-postgres.js';
import type { BlackholeProxy } from '../postgres/blackhole-proxy.js';
import type { Cluster, Member } from './cluster.js';
import type { HistoryWriter } from './history.js';
import type { Random } from './prng.js';
import { TORTURE_LEASE_MS } from './tasks.js';

/** What faults can act on. */
export interface FaultTargets {
  cluster: Cluster;
  history: HistoryWriter;
  /** PostgreSQL backend: the run's own server and the proxy some members connect through. */
  postgres?: { server: OwnPostgres; proxy: BlackholeProxy };
  /** SQLite backend: the database file. */
  sqliteFile?: string;
}

type Fault = (targets: FaultTargets, random: Random) => Promise<void>;

const signalFault =
  (role: Member['role'], signal: NodeJS.Signals, name: string): Fault =>
  async ({ cluster, history }, random) => {
    const live = cluster.live(role);
    if (live.length === 0) return;
    const member = random.pick(live);
    const pid = member.child?.pid ?? -1;
    history.record({
      kind: 'fault',
      fault: name,
      target: `${member.slot}.${member.generation}`,
      phase: 'begin',
      detail: `pid ${pid}`,
    });
    member.child?.kill(signal);
    // A graceful stop gets its time; the fault ends once the process is gone (it is respawned).
    await Promise.race([member.exited, sleep(signal === 'SIGTERM' ? 10_000 : 2_000)]);
    history.record({ kind: 'fault', fault: name, target: member.slot, phase: 'end' });
  };

const FAULTS: Record<string, Fault> = {
  kill9_worker: signalFault('worker', 'SIGKILL', 'kill9_worker'),
  sigterm_worker: signalFault('worker', 'SIGTERM', 'sigterm_worker'),
  kill9_scheduler: signalFault('scheduler', 'SIGKILL', 'kill9_scheduler'),
  async sigstop_worker({ cluster, history }, random) {
    const live = cluster.live('worker');
    if (live.length === 0) return;
    const member = random.pick(live);
    const ms = TORTURE_LEASE_MS + random.int(1_000, 3_000);
    history.record({
      kind: 'fault',
      fault: 'sigstop_worker',
      target: `${member.slot}.${member.generation}`,
      phase: 'begin',
      detail: `${ms} ms`,
    });
    member.frozen = true;
    member.child?.kill('SIGSTOP');
    await sleep(ms);
    if (member.frozen) member.child?.kill('SIGCONT');
    member.frozen = false;
    history.record({ kind: 'fault', fault: 'sigstop_worker', target: member.slot, phase: 'end' });
  },
  async pg_restart_fast({ postgres, history }) {
    if (!postgres) return;
    history.record({ kind: 'fault', fault: 'pg_restart_fast', target: 'postgres', phase: 'begin' });
    await postgres.server.restart('fast');
    history.record({ kind: 'fault', fault: 'pg_restart_fast', target: 'postgres', phase: 'end' });
  },
  async pg_crash({ postgres, history }) {
    if (!postgres) return;
    history.record({ kind: 'fault', fault: 'pg_crash', target: 'postgres', phase: 'begin' });
    await postgres.server.restart('immediate');
    history.record({ kind: 'fault', fault: 'pg_crash', target: 'postgres', phase: 'end' });
  },
  async blackhole({ postgres, history }, random) {
    if (!postgres) return;
    const ms = random.int(2_000, 6_000);
    history.record({
      kind: 'fault',
      fault: 'blackhole',
      target: 'proxy',
      phase: 'begin',
      detail: `${ms} ms`,
    });
    postgres.proxy.blackhole(true);
    await sleep(ms);
    postgres.proxy.blackhole(false);
    history.record({ kind: 'fault', fault: 'blackhole', target: 'proxy', phase: 'end' });
  },
  async sqlite_lock({ sqliteFile, history }, random) {
    if (sqliteFile === undefined) return;
    const ms = random.int(1_000, 5_000);
    const db = new Database(sqliteFile);
    try {
      // Another writer may hold the lock this instant: take it as soon as it is free.
      for (;;) {
        try {
          db.exec('BEGIN IMMEDIATE');
          break;
        } catch {
          await sleep(20);
        }
      }
      history.record({
        kind: 'fault',
        fault: 'sqlite_lock',
        target: 'file',
        phase: 'begin',
        detail: `${ms} ms`,
      });
      await sleep(ms);
      db.exec('COMMIT');
      history.record({ kind: 'fault', fault: 'sqlite_lock', target: 'file', phase: 'end' });
    } finally {
      db.close();
    }
  },
};

/** The fault kinds injected on a backend. */
export function faultKinds(backend: 'sqlite' | 'postgres'): string[] {
  const common = ['kill9_worker', 'sigterm_worker', 'kill9_scheduler', 'sigstop_worker'];
  return backend === 'sqlite'
    ? [...common, 'sqlite_lock']
    : [...common, 'pg_restart_fast', 'pg_crash', 'blackhole'];
}

/** Injects faults until `signal` aborts: a pause of 1 to 3 s, then the next fault of the round. */
export async function injectFaults(
  targets: FaultTargets,
  kinds: string[],
  random: Random,
  signal: AbortSignal,
): Promise<void> {
  let round: string[] = [];
  while (!signal.aborted) {
    try {
      await sleep(random.int(1_000, 3_000), undefined, { signal });
    } catch {
      return;
    }
    if (round.length === 0) round = shuffle(kinds, random);
    const kind = round.shift() ?? '';
    const fault = FAULTS[kind];
    if (fault) await fault(targets, random);
  }
}

function shuffle<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = random.int(0, i);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
