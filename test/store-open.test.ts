/** openStore dispatches postgres:// and postgresql:// URLs to the PostgreSQL backend. */
import type pg from 'pg';
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

describe('openStore with statementTimeoutMs', () => {
  // docs/SCALING.md names the option; before, openStore refused it as unknown and only the internal
  // PostgresStore.open took it, so an application could not lift the 60 s bound of its handlers'
  // ctx.transaction statements.
  it("sets the server-side timeouts of the store's statements and idle transactions, and 0 leaves the server's own", async () => {
    const schema = uniqueSchema('timeout');
    const short = await openStore(TEST_PG_URL, { schema, statementTimeoutMs: 300 });
    const serverOwn = await openStore(TEST_PG_URL, { schema, statementTimeoutMs: 0 });
    const setting = (store: typeof short) =>
      store.transaction(async (tx) => {
        const { rows } = await (tx as pg.ClientBase).query<{ statement_timeout: string; idle: string }>(
          "SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('idle_in_transaction_session_timeout') AS idle",
        );
        return rows[0];
      });
    try {
      expect(await setting(short)).toEqual({ statement_timeout: '300ms', idle: '300ms' });
      const slow = short.transaction((tx) => (tx as pg.ClientBase).query('SELECT pg_sleep(2)'));
      await expect(slow).rejects.toThrow();
      // A transaction whose client stays silent past the bound is ended by the server, its locks freed.
      const silent = short.transaction(async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return (tx as pg.ClientBase).query('SELECT 1');
      });
      // The caller's own query meets the closed connection (node-postgres's error, as the caller's).
      await expect(silent).rejects.toThrow(/connection/i);
      expect(await setting(short)).toEqual({ statement_timeout: '300ms', idle: '300ms' });
      expect(await setting(serverOwn)).toEqual({ statement_timeout: '0', idle: '0' });
    } finally {
      await short.close();
      await serverOwn.close();
      await dropSchema(schema);
    }
  });
});
