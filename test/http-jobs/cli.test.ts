/**
 * The `httpJobs` config key through the real CLI: `nightshift enqueue http.request` is validated
 * against the config's allow list, and `nightshift worker` runs the job with a secret taken from its
 * environment, which the worker's logs never show.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from '../cli/cli-process.js';
import { openTestStore } from '../cli/fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const SECRET = 'cli-secret-value-7f3a9c';
const dir = tempDir();
const db = `sqlite:${join(dir, 'jobs.db')}`;
const authorizations: Array<string | undefined> = [];
const server = createServer((request, response) => {
  authorizations.push(request.headers.authorization);
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(request.headers));
});
let store: Store;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(dir, 'nightshift.config.mjs'),
    `export default {
  tasks: {},
  httpJobs: { allowHosts: ['127.0.0.1'], allowPrivateNetworks: ['127.0.0.1/32'] },
  worker: { pollIntervalMs: 50, graceMs: 1000 },
};`,
  );
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  store = await openTestStore(db);
});

afterAll(async () => {
  await store.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('http.request through the CLI', () => {
  it('refuses a host outside the allow list at enqueue, and runs an allowed one with an environment secret', async () => {
    const refused = await runCli(
      ['enqueue', 'http.request', '--payload', '{"url":"https://elsewhere.example/"}', '--db', db],
      { cwd: dir },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'nightshift: invalid payload for task "http.request": url: host elsewhere.example is not in httpJobs.allowHosts',
    );

    const { port } = server.address() as AddressInfo;
    const payload = {
      url: `http://127.0.0.1:${port}/hook`,
      headers: { Authorization: { secret: 'cli-token', format: 'Token {}' } },
    };
    const enqueued = await runCli(
      ['enqueue', 'http.request', '--payload', JSON.stringify(payload), '--db', db],
      {
        cwd: dir,
      },
    );
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const id = enqueued.stdout.trim();

    const worker = spawnCli(['worker'], {
      cwd: dir,
      env: { NIGHTSHIFT_DB: db, NIGHTSHIFT_SECRET_CLI_TOKEN: SECRET, NIGHTSHIFT_LOG_LEVEL: 'debug' },
    });
    let logs = '';
    worker.stdout.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    const exited = new Promise((resolve) => worker.on('close', resolve));
    try {
      await waitUntil(async () => (await store.jobGet({ id }))?.state === 'completed', {
        timeoutMs: 60_000,
        message: 'the http.request job to complete',
      });
    } finally {
      worker.kill('SIGTERM');
      await exited;
    }
    expect(authorizations).toEqual([`Token ${SECRET}`]);
    const job = await store.jobGet({ id });
    expect(job?.result).toMatchObject({ status: 200, json: { authorization: 'Token [redacted]' } });
    expect(logs).not.toContain(SECRET);
  });
});
