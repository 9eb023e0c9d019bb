/**
 * Migrations under racing processes (reliability scenarios 23 and 24): ten real processes migrate one
 * empty schema at once; each migration is applied exactly once. A schema newer than the code is refused.
 * A role with only the table privileges docs/SCALING.md lists migrates a current schema as a no-op.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { runFixture } from './child-process.js';

const schemas: string[] = [];
const roles: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
  for (const role of roles) await withAdmin((client) => client.query(`DROP ROLE IF EXISTS "${role}"`));
});

describe('PostgreSQL migrations', () => {
  it('ten processes migrating one empty schema at once apply each migration exactly once', async () => {
    const schema = uniqueSchema('migrace');
    schemas.push(schema);
    const children = await Promise.all(
      Array.from({ length: 10 }, () => runFixture('migrate-child.ts', [TEST_PG_URL, schema])),
    );
    for (const child of children) expect(child.code, child.stderr).toBe(0);
    const results = children.map((c) => JSON.parse(c.stdout) as { from: number; to: number });

    const probe = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
    try {
      const { latest } = await probe.schemaVersion();
      expect(await probe.schemaVersion()).toEqual({ current: latest, latest });
      // Exactly one process found the schema empty; every other one found it complete.
      expect(results.filter((r) => r.from === 0)).toHaveLength(1);
      expect(results.filter((r) => r.from === latest)).toHaveLength(9);
      for (const r of results) expect(r.to).toBe(latest);
      const versions = await withAdmin(async (client) => {
        const { rows } = await client.query<{ version: number }>(
          `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
        );
        return rows.map((r) => r.version);
      });
      expect(versions).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
    } finally {
      await probe.close();
    }
  });

  it('refuses to migrate or run against a schema migrated by a newer nightshift, changing nothing', async () => {
    const schema = uniqueSchema('toonew');
    schemas.push(schema);
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
    try {
      await store.migrate();
      const { latest } = await store.schemaVersion();
      await withAdmin((client) =>
        client.query(
          `INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'from the future')`,
          [latest + 1],
        ),
      );
      for (const call of [() => store.migrate(), () => store.schemaCheck()]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(NightshiftError);
        expect((error as NightshiftError).code).toBe('schema_too_new');
      }
      expect(await store.schemaVersion()).toEqual({ current: latest + 1, latest });
    } finally {
      await store.close();
    }
  });

  it('a role with only table privileges migrates a current schema as a no-op (every command migrates)', async () => {
    const schema = uniqueSchema('dmlrole');
    schemas.push(schema);
    const role = `${schema}_app`;
    roles.push(role);
    const owner = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
    try {
      await owner.migrate();
    } finally {
      await owner.close();
    }
    // What docs/SCALING.md says a role needs once the schema exists: no CREATE on the database or schema.
    await withAdmin(async (client) => {
      await client.query(`CREATE ROLE "${role}" LOGIN`);
      await client.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${role}"`);
      await client.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`,
      );
    });
    const url = new URL(TEST_PG_URL);
    url.username = role;
    url.password = '';
    const store = await PostgresStore.open({ connectionString: url.toString(), schema });
    try {
      const { latest } = await store.schemaVersion();
      expect(await store.migrate()).toEqual({ from: latest, to: latest });
    } finally {
      await store.close();
    }
  });
});
