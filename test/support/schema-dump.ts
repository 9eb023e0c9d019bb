/**
 * A stable text dump of the schema a fresh migration builds, per backend, compared with the committed
 * snapshot in test/schema/ (test/schema/schema-snapshot.test.ts) so a schema change nobody planned
 * fails CI. `npm run schema:snapshot` rewrites the snapshots after a planned change.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

/** SQLite: every table, index, trigger and view as its CREATE statement, sorted by kind and name. */
export function dumpSqliteSchema(db: Database.Database): string {
  const rows = db
    .prepare(
      `SELECT type, name, sql FROM sqlite_master
       WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
       ORDER BY type, name`,
    )
    .all() as Array<{ type: string; name: string; sql: string }>;
  return rows.map((row) => `-- ${row.type} ${row.name}\n${row.sql};\n`).join('\n');
}

/** One catalog query's rows as lines, each line the row's values joined by ' | '. */
async function lines(client: pg.ClientBase, title: string, sql: string, schema: string): Promise<string> {
  const { rows } = await client.query<Record<string, unknown>>(sql, [schema]);
  const body = rows.map((row) => Object.values(row).map(String).join(' | '));
  return [`-- ${title}`, ...body, ''].join('\n');
}

/**
 * PostgreSQL: types, tables with their columns and storage options, constraints, indexes, functions and
 * triggers of one schema, read from the catalogs (no pg_dump, whose version must match the server's).
 * The schema's own name is replaced by `<schema>` so dumps of different schemas compare equal.
 */
export async function dumpPostgresSchema(client: pg.ClientBase, schema: string): Promise<string> {
  const sections = [
    await lines(
      client,
      'enum types',
      `SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
       WHERE n.nspname = $1 GROUP BY t.typname ORDER BY t.typname`,
      schema,
    ),
    await lines(
      client,
      'relations (kind, persistence, options)',
      `SELECT c.relname, c.relkind, c.relpersistence, coalesce(array_to_string(c.reloptions, ','), '')
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       ORDER BY c.relname`,
      schema,
    ),
    await lines(
      client,
      'columns',
      `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              coalesce(pg_get_expr(d.adbin, d.adrelid), '')
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum`,
      schema,
    ),
    await lines(
      client,
      'constraints',
      `SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = k.connamespace
       WHERE n.nspname = $1 ORDER BY c.relname, k.conname`,
      schema,
    ),
    await lines(
      client,
      'indexes',
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`,
      schema,
    ),
    await lines(
      client,
      'functions',
      `SELECT p.proname, pg_get_functiondef(p.oid)
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)`,
      schema,
    ),
    await lines(
      client,
      'triggers',
      `SELECT t.tgname, pg_get_triggerdef(t.oid)
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY c.relname, t.tgname`,
      schema,
    ),
  ];
  return sections.join('\n').replaceAll(schema, '<schema>');
}
