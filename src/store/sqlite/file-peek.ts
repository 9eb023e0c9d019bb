/**
 * Whether an existing SQLite file may hold a nightshift database, found out without changing it.
 * Opening a file as the store does switches it to WAL mode, which writes: an empty file became a
 * 4 KiB WAL-mode database, another program's database had its header rewritten. A command that may
 * not create a database (openStore's `create: false`) must leave such a file exactly as it was.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { currentVersion } from './migrator.js';

/** The first 16 bytes of every SQLite database file. */
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Header bytes 18 and 19 (the file format's write and read versions) are 2 in WAL mode. */
const WAL_FORMAT = 2;

/**
 * False for an empty file, one that is no SQLite database, and one without nightshift's tables;
 * true when it may hold them. A file in WAL mode is left to the store's own open and schema check,
 * which changes nothing in it: every database nightshift opened is in WAL mode for good.
 */
export function mayHoldNightshift(filename: string): boolean {
  const header = Buffer.alloc(20);
  let read: number;
  try {
    const fd = openSync(filename, 'r');
    try {
      read = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Unreadable: the store's open says why, as it did before this check.
    return true;
  }
  if (read < header.length || !header.subarray(0, MAGIC.length).equals(MAGIC)) return false;
  if (header[18] === WAL_FORMAT || header[19] === WAL_FORMAT) return true;
  // Out of WAL mode, a read-only connection reads the tables without writing a byte or a file.
  const db = new Database(filename, { readonly: true, fileMustExist: true });
  try {
    return currentVersion(db) > 0;
  } finally {
    db.close();
  }
}
