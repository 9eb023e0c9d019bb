/**
 * A fresh, isolated store on either backend for tests that run on both: a new SQLite file, or a new
 * PostgreSQL schema in the test database. Its removal is registered on the caller's cleanup list
 * before the store opens, so a list run in reverse closes what the test opened later first.
 */
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from './postgres-harness.js';
import { tempSqliteFile } from './temp-sqlite.js';

/** The backends a test may run on. */
export type TestBackend = 'sqlite' | 'postgres';

/** Opens a fresh store on `backend` (a schema named after `prefix` on PostgreSQL), closed and removed by `cleanups`. */
export async function freshStore(
  backend: TestBackend,
  prefix: string,
  cleanups: Array<() => Promise<void> | void>,
): Promise<Store> {
  let store: Store;
  if (backend === 'sqlite') {
    const file = tempSqliteFile();
    cleanups.push(() => file.remove());
    store = await openStore(`sqlite:${file.path}`);
  } else {
    const schema = uniqueSchema(prefix);
    cleanups.push(() => dropSchema(schema));
    store = await openStore(TEST_PG_URL, { schema });
  }
  cleanups.push(() => store.close());
  return store;
}
