/** openStore dispatches postgres:// and postgresql:// URLs to the PostgreSQL backend. */
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from './support/postgres-harness.js';

describe('openStore with PostgreSQL URLs', () => {
  it('opens a PostgresStore for both URL schemes, in the schema asked for', async () => {
    const rest = TEST_PG_URL.slice(TEST_PG_URL.indexOf('://'));
    for (const scheme of ['postgres', 'postgresql']) {
      const schema = uniqueSchema('open');
      const store = await openStore(`${scheme}${rest}`, { schema });
      try {
        expect(store.dialect).toBe('postgres');
        expect((await store.schemaVersion()).current).toBe(0);
        const { to } = await store.migrate();
        expect(to).toBeGreaterThanOrEqual(1);
        expect((await store.jobList({ limit: 1 })).jobs).toEqual([]);
      } finally {
        await store.close();
        await dropSchema(schema);
      }
    }
  });
});

describe('openStore with create: false', () => {
  it('refuses a schema without nightshift tables, never showing a password, and opens a migrated one', async () => {
    const schema = uniqueSchema('nocreate');
    const url = new URL(TEST_PG_URL);
    url.password = 'not-shown'; // trust auth ignores it
    try {
      const refused = await openStore(url.toString(), { schema, create: false }).catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'not_found',
        message: expect.stringContaining(':***@') as string,
      });
      expect((refused as Error).message).not.toContain('not-shown');

      const creator = await openStore(TEST_PG_URL, { schema });
      await creator.migrate();
      await creator.close();
      const store = await openStore(TEST_PG_URL, { schema, create: false });
      expect((await store.schemaVersion()).current).toBeGreaterThanOrEqual(1);
      await store.close();
    } finally {
      await dropSchema(schema);
    }
  });
});
