/** RELIABILITY 18 on SQLite: five scheduler processes on one database file. */
import { describe } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { describeSchedulerProcesses } from './processes.js';

describe('scheduler processes on sqlite', () => {
  describeSchedulerProcesses(async () => {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    await store.migrate();
    return {
      store,
      args: [`sqlite:${file.path}`],
      close: async () => {
        await store.close();
        file.remove();
      },
    };
  });
});
