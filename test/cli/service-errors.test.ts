/**
 * A service command that fails once connected (here `serve` on a port in use) reports it as every
 * command does: one line `nightshift: <message>`, or with `--json` the JSON error alone. It printed a
 * pino record with the stack first, whose message repeated the cause.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli, runCliMany, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'jobs.db')}`;
const blocker: Server = createServer();
let port: number;

beforeAll(async () => {
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  port = (blocker.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('a service that cannot start', () => {
  it('says why in one line, the cause once; with --json the JSON error alone', async () => {
    const serve = ['serve', '--port', String(port), '--db', db];
    const [human, json] = await runCliMany([
      { args: serve, options: { cwd: dir } },
      { args: [...serve, '--json'], options: { cwd: dir } },
    ]);
    const message = `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`;
    expect(human!.code).toBe(1);
    expect(human!.stdout).toBe('');
    expect(human!.stderr).toBe(`nightshift: ${message}\n`);
    expect(json!.code).toBe(1);
    expect(json!.stdout).toBe('');
    expect(json!.stderr).toBe(JSON.stringify({ error: { code: 'config_error', message } }) + '\n');
  });
});
