/**
 * `nightshift tokens` and `nightshift serve` as processes: a token printed once, used, listed, revoked;
 * `serve --read-only` refusing changes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const env = { NIGHTSHIFT_DB: `sqlite:${join(dir, 'jobs.db')}` };
const children: Array<ReturnType<typeof spawnCli>> = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

beforeAll(async () => {
  const migrated = await runCli(['migrate'], { cwd: dir, env });
  expect(migrated.code, migrated.stderr).toBe(0);
});

/** Starts `nightshift serve` and waits for the address it logs. */
async function serve(
  args: string[],
  options: Parameters<typeof spawnCli>[1],
): Promise<{ child: ReturnType<typeof spawnCli>; url: string }> {
  const child = spawnCli(args, options);
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await waitUntil(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)?.[1], {
    timeoutMs: 60_000,
  });
  return { child, url };
}

describe('tokens and serve', () => {
  it('refuses to serve beyond loopback while no token exists', async () => {
    const result = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { cwd: dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nightshift: refusing to listen on 0\.0\.0\.0/);
  });

  it('creates a token shown once, serves the API with it, lists and revokes it', async () => {
    const created = await runCli(['tokens', 'create', '--role', 'viewer', '--name', 'dashboard', '--json'], {
      cwd: dir,
      env,
    });
    expect(created.code, created.stderr).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; token: string; role: string; name: string };
    expect(token).toMatchObject({ role: 'viewer', name: 'dashboard' });
    expect(token.token).toMatch(/^ns_[A-Za-z0-9_-]{43}$/);

    const { child, url } = await serve(['serve', '--port', '0'], { cwd: dir, env });
    const get = (secret: string) =>
      fetch(`${url}/api/v1/queues`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await get(token.token)).status).toBe(200);

    const listed = await runCli(['tokens', 'list', '--json'], { cwd: dir, env });
    expect(listed.stdout).not.toContain(token.token);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      tokens: [{ id: token.id, role: 'viewer', revokedAt: null }],
    });

    expect((await runCli(['tokens', 'revoke', token.id], { cwd: dir, env })).code).toBe(0);
    expect((await get(token.token)).status).toBe(401);
    expect((await runCli(['tokens', 'revoke', token.id], { cwd: dir, env })).code).toBe(1);

    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves without a config: no worker runs, so no task needs a handler', async () => {
    const bare = tempDir();
    const { child, url } = await serve(['serve', '--port', '0'], {
      cwd: bare,
      env: { NIGHTSHIFT_DB: `sqlite:${join(bare, 'jobs.db')}` },
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves --read-only: the dashboard and reads work, every change is refused with read_only', async () => {
    const created = await runCli(['tokens', 'create', '--role', 'admin', '--name', 'wall', '--json'], {
      cwd: dir,
      env,
    });
    const { token } = JSON.parse(created.stdout) as { token: string };
    const { child, url } = await serve(['serve', '--read-only', '--port', '0'], { cwd: dir, env });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const session = await fetch(`${url}/api/v1/session`, { headers });
    expect(await session.json()).toEqual({ role: 'admin', readOnly: true });
    const change = await fetch(`${url}/api/v1/jobs/bulk-cancel`, { method: 'POST', headers, body: '{}' });
    expect(change.status).toBe(403);
    expect(await change.json()).toMatchObject({ error: { code: 'read_only' } });
    expect((await fetch(`${url}/`)).headers.get('content-type')).toMatch(/text\/html/);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves with the config file’s http.bodyLimit: a larger body gets 413 naming the limit', async () => {
    const own = tempDir();
    writeFileSync(
      join(own, 'nightshift.config.mjs'),
      'export default { tasks: { echo: (p) => p }, http: { bodyLimit: 4096 } };\n',
    );
    const ownEnv = { NIGHTSHIFT_DB: `sqlite:${join(own, 'jobs.db')}` };
    expect((await runCli(['migrate'], { cwd: own, env: ownEnv })).code).toBe(0);
    const created = await runCli(['tokens', 'create', '--role', 'admin', '--name', 'big', '--json'], {
      cwd: own,
      env: ownEnv,
    });
    const { token } = JSON.parse(created.stdout) as { token: string };
    const { child, url } = await serve(['serve', '--port', '0'], { cwd: own, env: ownEnv });
    const post = (bytes: number) =>
      fetch(`${url}/api/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'echo', payload: 'x'.repeat(bytes) }),
      });
    expect((await post(3_000)).status).toBe(201);
    const refused = await post(5_000);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({
      error: { code: 'payload_too_large', message: expect.stringContaining('at most 4096 bytes') as string },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses an unknown role and a malformed expiry as usage errors', async () => {
    const role = await runCli(['tokens', 'create', '--role', 'root', '--name', 'x'], { cwd: dir, env });
    expect(role.code).toBe(2);
    expect(role.stderr).toBe('nightshift: --role must be one of viewer, operator, admin, got "root"\n');
    const expiry = await runCli(
      ['tokens', 'create', '--role', 'admin', '--name', 'x', '--expires-in', 'soon'],
      {
        cwd: dir,
        env,
      },
    );
    expect(expiry.code).toBe(2);
  });
});
