/** RELIABILITY 18 on PostgreSQL: five scheduler processes on one schema. */
import { describe } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { describeSchedulerProcesses } from './processes.js';

describe('scheduler processes on postgres', () => {
  describeSchedulerProcesses(async () => {
    const schema = uniqueSchema('schedproc');
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
    await store.migrate();
    return {
      store,
      args: [TEST_PG_URL, schema],
      close: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  });
});
