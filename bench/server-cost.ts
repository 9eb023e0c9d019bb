/**
 * What a system costs the server it stores jobs in, read from outside the system: for PostgreSQL, the
 * CPU time of the server processes serving one database (from /proc, by the pids pg_stat_activity
 * lists for it), its committed and rolled-back transactions (pg_stat_database) and its connections;
 * for Redis, commands processed, its CPU and its clients (INFO). pg_stat_statements would give CPU per
 * statement, but it needs `shared_preload_libraries` and a server restart, which a shared server
 * cannot take; per-database backend CPU is what works on any Linux host running the server.
 *
 * Limits: CPU of a backend that connects and exits between two polls (every 200 ms) is missed, and
 * the server's shared processes (WAL writer, checkpointer) are not counted: pools keep their
 * connections, so the first matters little; the second is the same for every system. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ADMIN_URL } from './postgres-database.js';

const POLL_MS = 200;
const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * CPU time of a process, in ms; undefined once it is gone. The sum over its threads of
 * /proc/<pid>/task/<tid>/schedstat (time on a CPU, in ns) where the kernel keeps it: an idle worker
 * and its server cost a few ms a second, which utime + stime, counted in 10 ms ticks, could only
 * guess at. A thread that ended inside a window is missed (a node worker's threads live as long as
 * it does; a PostgreSQL backend has one). Elsewhere utime + stime.
 */
export function processCpuMs(pid: number): number | undefined {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
    readFileSync(`/proc/${pid}/schedstat`);
  } catch {
    return ticksCpuMs(pid);
  }
  let ns = 0;
  for (const tid of threads) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/** utime + stime of a process (all its threads, ended ones too), in ms; undefined once it is gone. */
function ticksCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** Figures of one measured window. */
export interface ServerCost {
  /** Server CPU spent for the database in the window, ms. */
  cpuMs: number;
  /** Transactions (PostgreSQL) or commands (Redis) in the window. */
  operations: number;
  /** Connections to the database (PostgreSQL) or clients (Redis) at the end of the window. */
  connections: number;
}

/** A running measurement; `stop` ends it. */
export interface ServerCostMeter {
  stop(): Promise<ServerCost>;
}

/** Starts measuring the PostgreSQL backends of `database`. */
export async function meterPostgres(database: string): Promise<ServerCostMeter> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  const ownPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  const baseline = new Map<number, number>();
  const latest = new Map<number, number>();
  const backends = async (): Promise<number[]> =>
    (
      await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])
    ).rows
      .map((r) => r.pid)
      .filter((pid) => pid !== ownPid);
  const transactions = async (): Promise<number> =>
    Number(
      (
        await client.query<{ n: string }>(
          'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
          [database],
        )
      ).rows[0]?.n ?? 0,
    );
  const sample = async (): Promise<number> => {
    const pids = await backends();
    for (const pid of pids) {
      const cpu = processCpuMs(pid);
      if (cpu === undefined) continue;
      // A backend first seen now did all its work inside the window, its start included.
      if (!baseline.has(pid)) baseline.set(pid, 0);
      latest.set(pid, cpu);
    }
    return pids.length;
  };
  for (const pid of await backends()) {
    const cpu = processCpuMs(pid);
    if (cpu !== undefined) baseline.set(pid, cpu);
  }
  const startTransactions = await transactions();
  let running = true;
  const poller = (async () => {
    while (running) {
      await sample();
      await sleep(POLL_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await poller;
      const connections = await sample();
      const operations = (await transactions()) - startTransactions;
      await client.end();
      let cpuMs = 0;
      for (const [pid, cpu] of latest) cpuMs += cpu - (baseline.get(pid) ?? 0);
      return { cpuMs, operations, connections };
    },
  };
}

/** Runs `INFO` on the local Redis and returns its fields. */
async function redisInfo(): Promise<Map<string, string>> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(6379, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const header = /^\$(\d+)\r\n/.exec(data);
      if (header?.[1] !== undefined && Buffer.byteLength(data) >= header[0].length + Number(header[1])) {
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', reject);
    socket.write('INFO\r\n');
  });
  return new Map(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => line.split(':', 2) as [string, string]),
  );
}

/** Connections now open to `database` (PostgreSQL), or clients of the local Redis, besides this query's. */
export async function countConnections(store: 'postgres' | 'redis', database?: string): Promise<number> {
  if (store === 'redis') return Number((await redisInfo()).get('connected_clients') ?? 1) - 1;
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

/**
 * Starts measuring the local Redis. It counts every client of the server, so it is exact only while
 * nothing else uses that Redis; the figure subtracts the meter's own INFO commands and connection.
 */
export async function meterRedis(): Promise<ServerCostMeter> {
  const read = async () => {
    const info = await redisInfo();
    const num = (key: string): number => Number(info.get(key) ?? 0);
    return {
      cpuMs: (num('used_cpu_user') + num('used_cpu_sys')) * 1000,
      commands: num('total_commands_processed'),
      clients: num('connected_clients'),
    };
  };
  const start = await read();
  return {
    async stop() {
      const end = await read();
      return {
        cpuMs: end.cpuMs - start.cpuMs,
        operations: end.commands - start.commands - 1,
        connections: end.clients - 1,
      };
    },
  };
}
