/**
 * SIGTERM to `nightshift serve` and `nightshift start` while a REST request waits on a black-holed
 * PostgreSQL (packets dropped, connections half-open): the process exits 0 within the API's bound (the
 * stop's grace, `worker.graceMs`, or none from a second signal on, then 1 s for the 503s to go out),
 * the services' own bounds and the close's 5 s, and the request is answered 503 `shutting_down`.
 *
 * - The API's close waited for every request in flight: a GET or POST waiting on the database held
 *   the stop for its 65 s statement timeout, then for the alert monitor's reading under way (139 s
 *   from SIGTERM to exit, measured, with a 2 s grace; test/api/close.test.ts pins the monitor's part).
 * - The command's close gave the instance 5 s (the enqueues being written), then the store 5 s more.
 */
import http from 'node:http';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ANSWER_FLUSH_MS } from '../../src/api/in-flight.js';
import { CLOSE_WAIT_MS } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { createBlackholedDatabase, type BlackholedDatabase } from './blackholed-database.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const GRACE_MS = 1_000;
const FLUSH_TIMEOUT_MS = 2_000;
/** How long a request is given to reach the server and its database call before SIGTERM. */
const IN_FLIGHT_AFTER_MS = 1_000;
/** Far above the bounds (7 s for serve, 8 s for start) on a loaded machine, far below the old 65 s. */
const MARGIN_MS = 10_000;

const dir = tempDir('nightshift-api-stop-');
// A reading of the alerts is always under way, as on a server whose readings take their full time.
writeBasicConfig(dir, {
  worker: { graceMs: GRACE_MS, flushTimeoutMs: FLUSH_TIMEOUT_MS },
  alerts: { intervalMs: 100 },
});
/** The default grace (30 s), which only a second signal cuts short. */
const defaultGraceDir = tempDir('nightshift-api-stop-forced-');
writeBasicConfig(defaultGraceDir);
let database: BlackholedDatabase;
let token: string;

beforeAll(async () => {
  database = await createBlackholedDatabase(dir);
  const created = await runCli(
    ['tokens', 'create', '--role', 'operator', '--name', 'stop', '--json', '--db', database.url],
    { cwd: dir },
  );
  expect(created.code, created.stderr).toBe(0);
  token = (JSON.parse(created.stdout) as { token: string }).token;
});

afterAll(async () => {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(defaultGraceDir, { recursive: true, force: true });
});

/** An HTTP answer, or how the connection ended without one. */
interface Answer {
  status: number | 'no answer';
  body: string;
  at: number;
}

/**
 * Sends a request on a connection of its own. `holdBodyUntil`: the first bytes of the body go at once
 * (the token is checked on the headers alone), the rest once it resolves.
 */
function send(
  url: string,
  request: { method: string; path: string; body?: string; holdBodyUntil?: Promise<void> },
): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(request.body);
    }
    const outgoing = http.request(`${url}${request.path}`, { method: request.method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, at: performance.now() }));
    });
    outgoing.on('error', (error) =>
      resolve({ status: 'no answer', body: error.message, at: performance.now() }),
    );
    if (request.body === undefined) outgoing.end();
    else if (request.holdBodyUntil === undefined) outgoing.end(request.body);
    else {
      outgoing.write(request.body.slice(0, 1));
      void request.holdBodyUntil.then(() => outgoing.end(request.body?.slice(1)));
    }
  });
}

/** A kept-alive connection left idle after one answered request, and when it closed. */
async function idleConnection(url: string): Promise<{ closedAt: () => number | undefined }> {
  const agent = new http.Agent({ keepAlive: true });
  let closedAt: number | undefined;
  await new Promise<void>((resolve, reject) => {
    http
      .get(`${url}/healthz`, { agent }, (res) => {
        res.socket.once('close', () => (closedAt = performance.now()));
        res.resume().on('end', () => resolve());
      })
      .on('error', reject);
  });
  return { closedAt: () => closedAt };
}

/** The `"msg":...` log record of `stderr`, parsed. */
function logRecord(stderr: string, msg: string): Record<string, unknown> | undefined {
  const line = stderr.split('\n').find((candidate) => candidate.includes(`"msg":"${msg}`));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

/** A service started by `withService`. */
interface Service {
  url: string;
  /** Black-holes this service's route to the database (its own proxy) while `on`. */
  blackhole(on: boolean): void;
  stderr(): string;
  /** Sends SIGTERM (`twice`: a second one `secondAfterMs` later) and expects an exit 0 within `boundMs`. */
  terminateWithin(boundMs: number, twice?: { secondAfterMs: number }): Promise<void>;
}

/**
 * Runs `nightshift <command>` on the database, through a proxy of its own, until its API listens (and
 * its worker serves, for `start`), then `body`; afterwards the database answers again and the process
 * is gone.
 */
async function withService(command: 'serve' | 'start', body: (service: Service) => Promise<void>, cwd = dir) {
  const route = await database.openRoute();
  const child = spawnCli([command, '--port', '0', '--db', route.url], { cwd });
  let stderr = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const url = await waitUntil(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)?.[1], {
      timeoutMs: 60_000,
      message: () => `${command} to listen (stderr: ${stderr})`,
    });
    if (command === 'start') {
      await waitUntil(() => stderr.includes('"msg":"serving tasks"'), {
        timeoutMs: 30_000,
        message: () => `the worker to start (stderr: ${stderr})`,
      });
    }
    await body({
      url,
      blackhole: (on) => route.proxy.blackhole(on),
      stderr: () => stderr,
      async terminateWithin(boundMs, twice) {
        const signalledAt = performance.now();
        child.kill('SIGTERM');
        if (twice !== undefined) {
          await sleep(twice.secondAfterMs);
          child.kill('SIGTERM');
        }
        const code = await Promise.race([exited, sleep(boundMs).then(() => 'still running' as const)]);
        expect(code, stderr).toBe(0);
        expect(performance.now() - signalledAt).toBeLessThan(boundMs);
      },
    });
  } finally {
    route.proxy.blackhole(false);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// Each test's service reaches the database through a proxy of its own, and spends most of its time
// waiting out grace periods and close bounds: the tests run side by side.
describe.concurrent('SIGTERM while a REST request waits on a black-holed database', () => {
  it('serve answers it 503 after the grace, closes idle connections at once and exits within its bounds', async () => {
    await withService('serve', async (service) => {
      const idle = await idleConnection(service.url);
      service.blackhole(true);
      const listing = send(service.url, { method: 'GET', path: '/api/v1/jobs' });
      await sleep(IN_FLIGHT_AFTER_MS);
      await service.terminateWithin(GRACE_MS + ANSWER_FLUSH_MS + CLOSE_WAIT_MS + MARGIN_MS);

      const answer = await listing;
      expect(answer.status, answer.body).toBe(503);
      expect(JSON.parse(answer.body)).toEqual({
        error: {
          code: 'shutting_down',
          message: 'the server stopped before this request was answered: whether it took effect is unknown',
        },
      });
      // Not after the grace, with the request in flight: at once.
      expect(idle.closedAt()).toBeLessThan(answer.at);
      const answered = logRecord(service.stderr(), 'stopping: API requests still in flight');
      expect(answered).toMatchObject({ answered: 1, cut: 0 });
      expect(answered?.['waitedMs']).toBeGreaterThanOrEqual(GRACE_MS);
      expect(service.stderr()).toContain('closing: calls still unanswered on these connections; cut them');
    });
  });

  it('serve answers it 503 at a second SIGTERM, whatever is left of the grace', async () => {
    await withService(
      'serve',
      async (service) => {
        service.blackhole(true);
        const listing = send(service.url, { method: 'GET', path: '/api/v1/jobs' });
        await sleep(IN_FLIGHT_AFTER_MS);
        const secondAfterMs = 1_000;
        // Far below the 30 s grace the first signal gave the request.
        await service.terminateWithin(secondAfterMs + ANSWER_FLUSH_MS + CLOSE_WAIT_MS + MARGIN_MS, {
          secondAfterMs,
        });
        const answer = await listing;
        expect(answer.status, answer.body).toBe(503);
        expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'shutting_down' } });
        expect(service.stderr()).toContain('"msg":"second signal: releasing running jobs now"');
      },
      defaultGraceDir,
    );
  });

  it('start answers an enqueue being written 503 and closes instance and store within one 5 s', async () => {
    await withService('start', async (service) => {
      // The token is checked while the database answers; the enqueue then waits on the black hole.
      let sendRest = (): void => undefined;
      const restSent = new Promise<void>((resolve) => (sendRest = resolve));
      const enqueue = send(service.url, {
        method: 'POST',
        path: '/api/v1/jobs',
        body: JSON.stringify({ task: 'echo', payload: { n: 1 } }),
        holdBodyUntil: restSent,
      });
      await sleep(IN_FLIGHT_AFTER_MS);
      service.blackhole(true);
      sendRest();
      await sleep(IN_FLIGHT_AFTER_MS);
      // The API's wait runs beside the worker's stop (grace, then its writes' deadline), not before it.
      await service.terminateWithin(GRACE_MS + FLUSH_TIMEOUT_MS + CLOSE_WAIT_MS + MARGIN_MS);

      const answer = await enqueue;
      expect(answer.status, answer.body).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'shutting_down' } });
      expect(service.stderr()).toContain('"msg":"worker stopped"');
      // The instance's close spent the 5 s waiting for the enqueue; the store was left what remained
      // of them, not 5 s of its own.
      const cut = logRecord(service.stderr(), 'closing: calls still unanswered');
      expect(cut, service.stderr()).toBeDefined();
      expect(cut?.['waitedMs']).toBeLessThan(CLOSE_WAIT_MS / 5);
    });
  });
});
