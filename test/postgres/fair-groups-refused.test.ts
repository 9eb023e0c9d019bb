/** PostgreSQL refuses grouped jobs and group weights until fair claiming is built on it (docs/TENANCY.md). */
import { afterEach, describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import { postgresHarness } from '../support/postgres-harness.js';

const h = postgresHarness('groups');
afterEach(() => h.close());

describe('job groups on PostgreSQL', () => {
  it('refuses a grouped job and a group weight, and lists no group', async () => {
    const store = await h.open();
    await expect(store.jobInsertMany({ jobs: [newJob({ group: 'tenant' })] })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(store.groupSetWeight({ group: 'tenant', weight: 2 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    expect(await store.groupList({ limit: 10 })).toEqual([]);
    expect((await store.jobInsertMany({ jobs: [newJob()] }))[0]?.created).toBe(true);
  });
});
