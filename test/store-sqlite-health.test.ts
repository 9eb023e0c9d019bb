/**
 * `ns.databaseHealth()` on SQLite: the file's pages, free pages and write-ahead log, which grows
 * while a reader holds back checkpoints (PostgreSQL's dead rows and oldest transaction are in
 * test/postgres/vacuum-holdback.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import { tempSqliteFile } from './support/temp-sqlite.js';

const file = tempSqliteFile();
afterAll(() => file.remove());

describe('databaseHealth on SQLite', () => {
  it('reports pages, free pages and the WAL size, and the WAL grows with writes', async () => {
    const ns = await Nightshift.connect({
      db: `sqlite:${file.path}`,
      tasks: { noop: () => undefined },
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const before = await ns.databaseHealth();
      if (before.dialect !== 'sqlite') throw new Error(`expected SQLite health, got ${before.dialect}`);
      expect(before.pageCount).toBeGreaterThan(0);
      expect(before.freelistPages).toBeGreaterThanOrEqual(0);
      await ns.enqueueMany(Array.from({ length: 200 }, (_, n) => ({ task: 'noop', payload: { n } })));
      const after = await ns.databaseHealth();
      if (after.dialect !== 'sqlite') throw new Error('expected SQLite health');
      expect(after.walBytes).toBeGreaterThan(before.walBytes);
    } finally {
      await ns.close();
    }
  });
});
