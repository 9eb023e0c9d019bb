/**
 * The schema a fresh migration builds, on each backend, equals the committed dump beside this file. A
 * migration that changes it must come with the new dump (`npm run schema:snapshot`, then review the
 * diff in the commit), so a schema change nobody planned (an edited old migration, a lost index) fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { dumpPostgresSchema, dumpSqliteSchema } from '../support/schema-dump.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

describe('schema snapshot', () => {
  const schema = uniqueSchema('snapshot');
  afterAll(() => dropSchema(schema));

  it('SQLite: a fresh migration builds exactly test/schema/sqlite.sql', async () => {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    try {
      await store.migrate();
      await expect(dumpSqliteSchema(store.database)).toMatchFileSnapshot('./sqlite.sql');
    } finally {
      await store.close();
      file.remove();
    }
  });

  it('PostgreSQL: a fresh migration builds exactly test/schema/postgres.sql', async () => {
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    const dump = await withAdmin((client) => dumpPostgresSchema(client, schema));
    await expect(dump).toMatchFileSnapshot('./postgres.sql');
  });
});
