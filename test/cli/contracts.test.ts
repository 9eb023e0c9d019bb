/** The CLI with a producer's config: contracts only, no handler code. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { compiledFile } from '../support/child-process.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { allJobs, openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
const db = `sqlite:${join(dir, 'jobs.db')}`;
// The CLI's own (compiled) module, as a user's config imports the installed package the CLI runs from.
const contractModule = pathToFileURL(compiledFile(new URL('../../src/contract.ts', import.meta.url))).href;
writeFileSync(
  join(dir, 'nightshift.config.mjs'),
  `import { defineContract } from ${JSON.stringify(contractModule)};
const orderSchema = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      Number.isInteger(value?.orderId) ? { value } : { issues: [{ message: 'must be an integer', path: ['orderId'] }] },
  },
};
export default { contracts: [defineContract('invoice.send', { payload: orderSchema, queue: 'mail', maxAttempts: 2 })] };
`,
);
let store: Store;

async function cli(...args: string[]): ReturnType<typeof runCli> {
  return runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db } });
}

beforeAll(async () => {
  const migrated = await cli('migrate');
  expect(migrated.code, migrated.stderr).toBe(0);
  store = await openTestStore(db);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a config with contracts only', () => {
  it('enqueues with the contract defaults, and refuses a wrong payload or an unknown task', async () => {
    const ok = await cli('enqueue', 'invoice.send', '--payload', '{"orderId":42}');
    expect(ok.code, ok.stderr).toBe(0);
    const [job] = await allJobs(store);
    expect(job).toMatchObject({
      id: ok.stdout.trim(),
      queue: 'mail',
      maxAttempts: 2,
      payload: { orderId: 42 },
    });

    const wrong = await cli('enqueue', 'invoice.send', '--payload', '{"orderId":"x"}', '--json');
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stderr)).toMatchObject({ error: { code: 'invalid_payload' } });
    const unknown = await cli('enqueue', 'invoice.sned', '--payload', '{"orderId":1}');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown task "invoice.sned"/);
    expect(await allJobs(store)).toHaveLength(1);
  });

  it('runs no worker: a worker needs handlers', async () => {
    const worker = await cli('worker');
    expect(worker.code).toBe(1);
    expect(worker.stderr).toBe(
      `nightshift: config ${join(dir, 'nightshift.config.mjs')} implements no task: a worker needs "tasks" or "implementations", not contracts alone\n`,
    );
    // It never claimed the waiting job.
    expect((await allJobs(store)).map((job) => job.state)).toEqual(['queued']);
  });
});
