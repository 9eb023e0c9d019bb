/** Fresh SQLite database files for tests, one temporary directory each. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A database path in a new temporary directory, and the function that removes it. */
export interface TempSqliteFile {
  path: string;
  remove(): void;
}

/** Creates a temporary directory and names a (not yet existing) database file inside it. */
export function tempSqliteFile(): TempSqliteFile {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-test-'));
  return {
    path: join(dir, 'nightshift.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
