/**
 * The migration files of a backend: `NNN_name.sql` in its `migrations/` folder (copied into dist by
 * scripts/copy-sql.mjs), numbered 1..n with no gap, read once per process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { NightshiftError } from '../errors.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE_PATTERN = /^(\d+)_([\w-]+)\.sql$/;

const loaded = new Map<string, Migration[]>();

/** Every migration in `dir`, in version order; `config_error` when the numbers are not 1..n. */
export function loadMigrations(dir: URL): Migration[] {
  const cached = loaded.get(dir.href);
  if (cached) return cached;
  const migrations = readdirSync(dir)
    .map((file) => FILE_PATTERN.exec(file))
    .filter((match) => match !== null)
    .map((match) => ({
      version: Number(match[1]),
      name: match[2] ?? '',
      sql: readFileSync(new URL(match[0], dir), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new NightshiftError(
        'config_error',
        `migrations in ${dir.pathname} are not numbered 1..n: ${migration.name}`,
      );
    }
  });
  loaded.set(dir.href, migrations);
  return migrations;
}
