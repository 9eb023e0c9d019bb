/**
 * `serve` holds the API's port from before it opens its database until the API serves on that very
 * socket. Here its PostgreSQL is down at start (behind a proxy of the test's that opens only later),
 * so the command holds the port for as long as it waits: another server cannot take the port, and a
 * request made meanwhile is answered once the API is up.
 *
 * Before, the holder was closed just before the API listened, a moment in which another process could
 * take the port, after the database had been created; and closing it waited for every connection it
 * had accepted to end, so that one request made during start-up stalled `serve` until the client gave
 * up.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { TEST_PG_URL } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, spawnCli, tempDir } from './cli-process.js';
import { createTestDatabase } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Listens on 127.0.0.1:`port` (0: any); rejects as `listen` fails. */
function listenOn(port: number, server: Server = createServer()): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

/** A port on 127.0.0.1 that nothing listens on (for now). */
async function freePort(): Promise<number> {
  const server = await listenOn(0);
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('serve while its database is down', () => {
  it('holds its port throughout, and answers a request made while it waited', async () => {
    const database = await createTestDatabase();
    const target = new URL(TEST_PG_URL);
    const piped = new Set<Socket>();
    // The database, reachable through this port once the proxy listens.
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        piped.add(from);
        from.on('error', () => to.destroy());
        from.once('close', () => piped.delete(from));
        from.pipe(to);
      }
    });
    const proxyPort = await freePort();
    const apiPort = await freePort();
    const db = new URL(database.url);
    db.port = String(proxyPort);
    const child = spawnCli(['serve', '--db', db.toString(), '--port', String(apiPort)], { cwd: dir });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise((resolve) => child.on('close', resolve));
    let probe: Socket | undefined;
    let answer = '';
    try {
      await waitUntil(() => stderr.includes('waiting for it'), {
        timeoutMs: 60_000,
        message: () => `serve waiting for its database; stderr: ${stderr}`,
      });
      await expect(listenOn(apiPort)).rejects.toMatchObject({ code: 'EADDRINUSE' });

      // A request while serve waits: its connection is accepted by the held socket.
      const socket = (probe = connect(apiPort, '127.0.0.1'));
      socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(stderr).not.toContain('API listening');

      await listenOn(proxyPort, proxy);
      await waitUntil(() => answer.endsWith('{"status":"ok"}'), {
        timeoutMs: 60_000,
        message: () =>
          `the request made during start-up answered; got ${JSON.stringify(answer)}; stderr: ${stderr}`,
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(stderr).toContain('API listening');
      expect((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).status).toBe(200);
    } finally {
      probe?.destroy();
      child.kill('SIGTERM');
      await exited;
      for (const socket of piped) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      await database.drop();
    }
  });
});
