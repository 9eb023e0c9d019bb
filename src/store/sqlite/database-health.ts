/** `databaseHealth` on SQLite: page counts from the file's header and the write-ahead log's size. */
import { existsSync, statSync } from 'node:fs';
import type { DatabaseHealth } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/database-health.js';

/** Pages in use and free, and the WAL's bytes (0 for ':memory:'). */
export function databaseHealth(conn: SqliteConnection): Promise<DatabaseHealth> {
  return conn.read(() => {
    const { db } = conn;
    const pageCount = db.pragma(sql.databaseHealthPageCount, { simple: true }) as number;
    const freelistPages = db.pragma(sql.databaseHealthFreelistCount, { simple: true }) as number;
    const wal = `${db.name}-wal`;
    const walBytes = db.memory || !existsSync(wal) ? 0 : statSync(wal).size;
    return { dialect: 'sqlite', pageCount, freelistPages, walBytes };
  });
}
