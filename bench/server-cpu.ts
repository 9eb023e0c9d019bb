/** CPU time of a PostgreSQL database's server processes, for benchmarks on this machine (Linux /proc). */
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** CPU time in µs of the server processes of the database at `url` (clock ticks of 10 ms). */
export async function serverCpuUs(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    let ticks = 0;
    for (const { pid } of rows) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return ticks * 10_000;
  } finally {
    await client.end();
  }
}

/** This process's CPU time in µs. */
export function processCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
