/** `databaseHealth` on PostgreSQL: dead rows per table and the oldest open transaction. */
import type { DatabaseHealth } from '../store.js';
import type { PostgresConnection } from './connection.js';

/** Live and dead rows per table of the schema, and the oldest transaction holding back vacuum. */
export async function databaseHealth(conn: PostgresConnection): Promise<DatabaseHealth> {
  const [tables, [oldest]] = await Promise.all([
    conn.rows<{ table: string; live_rows: string; dead_rows: string; last_vacuum_at: Date | null }>(
      conn.sql.databaseHealthTables,
      [conn.schema],
    ),
    conn.rows<{ pid: number; state: string | null; age_ms: number }>(
      conn.sql.databaseHealthOldestTransaction,
      [],
    ),
  ]);
  return {
    dialect: 'postgres',
    tables: tables.map((row) => ({
      table: row.table,
      liveRows: Number(row.live_rows),
      deadRows: Number(row.dead_rows),
      lastVacuumAt: row.last_vacuum_at,
    })),
    oldestTransaction:
      oldest === undefined
        ? null
        : {
            ageMs: Math.max(0, Math.round(oldest.age_ms)),
            state: oldest.state ?? 'unknown',
            pid: oldest.pid,
          },
  };
}
