/** CPU time of a PostgreSQL database's server processes, for benchmarks on this machine (Linux /proc). */
import pg from 'pg';
import { processCpuMs } from './server-cost.js';

/** CPU time in µs of the server processes of the database at `url` (server-cost.ts `processCpuMs`). */
export async function serverCpuUs(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    let ms = 0;
    // A process that ended between the listing and the read counts nothing.
    for (const { pid } of rows) ms += processCpuMs(pid) ?? 0;
    return ms * 1_000;
  } finally {
    await client.end();
  }
}

/** This process's CPU time in µs. */
export function processCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
