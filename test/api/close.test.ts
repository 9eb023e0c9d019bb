/**
 * Closing the API server (src/api/in-flight.ts): within a bound, whatever its requests and the
 * database do.
 *
 * - Fastify's close waited for every request in flight, and then for the alert monitor's reading:
 *   on a database that does not answer, each until its calls timed out.
 * - A keep-alive connection whose request ended after the close began stayed open, and the close with
 *   it, until the client or the keep-alive timeout (72 s) closed it.
 * - A request arriving while the server closed was answered in Fastify's error shape, not the API's.
 */
import http from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, holdApiAddress, serveApiOn, startApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startBlackholeProxy, type BlackholeProxy } from '../postgres/blackhole-proxy.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

const logger = createLogger({ level: 'silent' });

/** A response read to its end, with when it ended. */
interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  at: number;
}

function get(url: string, options: { agent?: http.Agent; token?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    http
      .get(url, { headers, ...(options.agent !== undefined && { agent: options.agent }) }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            body,
            at: performance.now(),
          }),
        );
      })
      .on('error', reject);
  });
}

describe('closing the API server (SQLite)', () => {
  const file = tempSqliteFile();
  let ns: Nightshift;
  let token: string;

  beforeAll(async () => {
    ns = await Nightshift.connect({ db: `sqlite:${file.path}`, tasks: { noop: () => 'done' }, logger });
    token = (await issueToken(ns.store, { name: 'close', role: 'viewer' })).secret;
  });

  afterAll(async () => {
    await ns.close();
    file.remove();
  });

  /** A job nothing runs: `?wait=` holds a request on it for as long as it asks. */
  async function waitingJob(): Promise<string> {
    return (await ns.enqueue('noop', null, { queue: `unserved-${Math.random()}` })).id;
  }

  it("app.close() ends a kept-alive connection once its request is answered, and answers a late request in the API's shape", async () => {
    const { app, url } = await serveApiOn(await holdApiAddress({ host: '127.0.0.1', port: 0 }), {
      ns,
      logger,
    });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const held = get(`${url}/api/v1/jobs/${await waitingJob()}?wait=1`, { agent, token });
      // A request whose headers are not all in yet when the close begins.
      const late = connect(Number(new URL(url).port), '127.0.0.1');
      let lateAnswer = '';
      late.setEncoding('utf8').on('data', (chunk: string) => (lateAnswer += chunk));
      const lateClosed = new Promise<void>((resolve) => late.once('close', () => resolve()));
      await new Promise((resolve) => late.once('connect', resolve));
      late.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await sleep(100);

      const closing = app.close();
      await sleep(100);
      late.write('\r\n');
      const answer = await held;
      await closing;
      // The answer said so, and the close did not wait for the client to let the connection go.
      expect(answer).toMatchObject({ status: 200, connection: 'close' });
      expect(performance.now() - answer.at).toBeLessThan(1_000);

      await lateClosed;
      expect(lateAnswer).toMatch(/^HTTP\/1\.1 503 /);
      expect(lateAnswer).toMatch(/\r\nconnection: close\r\n/i);
      const body = lateAnswer.slice(lateAnswer.indexOf('\r\n\r\n') + 4);
      expect(JSON.parse(body)).toEqual({
        error: {
          code: 'shutting_down',
          message: 'the server is stopping and takes no new requests; nothing was done: send it again',
        },
      });
    } finally {
      agent.destroy();
    }
  });

  it('close({ waitMs }) answers a request still in flight 503 when the wait ends; a shorter wait hurries it', async () => {
    for (const { firstWaitMs, secondWaitMs } of [
      { firstWaitMs: 300, secondWaitMs: undefined },
      { firstWaitMs: 60_000, secondWaitMs: 0 },
    ]) {
      const served = await serveApiOn(await holdApiAddress({ host: '127.0.0.1', port: 0 }), { ns, logger });
      const held = get(`${served.url}/api/v1/jobs/${await waitingJob()}?wait=10`, { token });
      await sleep(200);
      const started = performance.now();
      const closed = served.close({ waitMs: firstWaitMs });
      if (secondWaitMs !== undefined) {
        await sleep(100);
        await served.close({ waitMs: secondWaitMs });
      }
      await closed;
      const tookMs = performance.now() - started;
      expect(tookMs).toBeGreaterThanOrEqual(secondWaitMs === undefined ? firstWaitMs - 10 : 100 - 10);
      // Far below the request's own 10 s.
      expect(tookMs).toBeLessThan(3_000);
      const answer = await held;
      expect(answer.status).toBe(503);
      expect(answer.connection).toBe('close');
      expect(JSON.parse(answer.body)).toEqual({
        error: {
          code: 'shutting_down',
          message: 'the server stopped before this request was answered: whether it took effect is unknown',
        },
      });
    }
  });

  it("startApiServer's result closes within a bound too, answering a request still in flight 503", async () => {
    const served = await startApiServer({ ns, logger, host: '127.0.0.1', port: 0 });
    const held = get(`${served.url}/api/v1/jobs/${await waitingJob()}?wait=10`, { token });
    await sleep(200);
    const started = performance.now();
    await served.close({ waitMs: 300 });
    const tookMs = performance.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(300 - 10);
    // Far below the request's own 10 s.
    expect(tookMs).toBeLessThan(3_000);
    const answer = await held;
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'shutting_down' } });
  });
});

describe('closing the API server on a black-holed PostgreSQL', () => {
  const schema = uniqueSchema('apiclose');
  let proxy: BlackholeProxy;
  let store: PostgresStore;
  let ns: Nightshift;

  beforeAll(async () => {
    const target = new URL(TEST_PG_URL);
    proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(TEST_PG_URL);
    viaProxy.port = String(proxy.port);
    store = await PostgresStore.open({ connectionString: viaProxy.toString(), schema, logger });
    await store.migrate();
    // Readings one after another: one is always under way.
    ns = await Nightshift.connect({ db: store, logger, alerts: { intervalMs: 20 } });
  });

  afterAll(async () => {
    proxy.blackhole(false);
    await ns.close();
    await store.close({ waitMs: 0 });
    await proxy.close();
    await dropSchema(schema);
  });

  it('does not wait for the alert reading the database does not answer', async () => {
    const app = await createApiServer({ ns, logger });
    proxy.blackhole(true);
    // Long enough for a reading to start and be sent into the black hole.
    await sleep(500);
    const started = performance.now();
    await app.close();
    // The reading lasts until a connection timeout (10 s) or its query's (65 s).
    expect(performance.now() - started).toBeLessThan(2_000);
  }, 30_000);
});
