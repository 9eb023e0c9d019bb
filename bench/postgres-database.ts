/**
 * Fresh PostgreSQL databases for benchmark sessions. A whole database per session (rather than a schema)
 * isolates every system the same way whether or not it can be pointed at a schema, and dropping it
 * leaves nothing behind, not even the functions and types some peers install.
 */
import pg from 'pg';

/** Server the benchmark uses; NIGHTSHIFT_BENCH_PG overrides it (any existing database on that server). */
export const ADMIN_URL = process.env['NIGHTSHIFT_BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let counter = 0;

/** Creates an empty database named after `label` and this process; returns its URL and a dropper. */
export async function createDatabase(
  label: string,
  options: { settings?: Record<string, string> } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  counter += 1;
  const name = `bench_${label.replace(/[^a-z0-9]/g, '_')}_${process.pid}_${counter}`;
  await admin(async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
    // Session defaults of every connection to it, as a role's or database's settings are in production.
    for (const [setting, value] of Object.entries(options.settings ?? {})) {
      await client.query(`ALTER DATABASE ${name} SET ${setting} = ${value}`);
    }
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE ends connections a peer may still hold in its pool (PostgreSQL 13+). Pools closing as
    // the session ends get a moment first: graphile-worker's runner pool, ended by its stop() but not
    // yet disconnected, emitted the termination as an 'error' nobody listened to, and the benchmark
    // process died.
    drop: () =>
      admin(async (client) => {
        for (let wait = 0; wait < 20; wait += 1) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(*)::integer AS n FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if (rows[0]?.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

/** Runs `work` on a client of the server's admin database. */
function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(ADMIN_URL, work);
}

/** Runs `work` on a client of the database at `url`, connected for it and closed after. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
