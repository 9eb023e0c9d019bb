/**
 * A real API server for tests: a Nightshift instance on a fresh SQLite file or PostgreSQL schema, the
 * server listening on a free loopback port, one token per role, and a fetch helper that sends JSON.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { startApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ApiRole, Store } from '../../src/store/store.js';
import { defineTask } from '../../src/task.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** The tasks every API test server knows. */
export const TEST_TASKS = {
  'email.send': defineTask({
    schema: z.object({ to: z.string().email(), subject: z.string().optional() }),
    handler: async () => ({ sent: true }),
  }),
  noop: async () => 'done',
};

/** A response: status, parsed JSON body (undefined when empty), headers. */
export interface TestResponse {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** A running test server. */
export interface TestServer {
  ns: Nightshift;
  store: Store;
  app: FastifyInstance;
  url: string;
  /** A usable secret for each role. */
  tokens: Record<ApiRole, string>;
  /** Sends a request; `token: null` sends none, `body` is JSON-encoded unless a string. */
  request(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

async function openBackend(backend: Backend): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    return { store, cleanup: async () => file.remove() };
  }
  const schema = uniqueSchema('api');
  const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
  return { store, cleanup: () => dropSchema(schema) };
}

/** Starts a server on `backend` with one token per role. */
export async function startTestServer(
  backend: Backend,
  options: { bodyLimit?: number } = {},
): Promise<TestServer> {
  const { store, cleanup } = await openBackend(backend);
  const logger = createLogger({ level: 'silent' });
  const ns = await Nightshift.connect({ db: store, tasks: TEST_TASKS, logger });
  const tokens = {} as Record<ApiRole, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    tokens[role] = (await issueToken(store, { name: `test-${role}`, role })).secret;
  }
  const { app, url } = await startApiServer({ ns, logger, host: '127.0.0.1', port: 0, ...options });
  return {
    ns,
    store,
    app,
    url,
    tokens,
    async request(method, path, opts = {}) {
      const token = opts.token === undefined ? tokens.admin : opts.token;
      const headers: Record<string, string> = { ...opts.headers };
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(url + path, { method, headers, ...(body !== undefined && { body }) });
      const text = await response.text();
      return {
        status: response.status,
        text,
        body: text === '' ? undefined : JSON.parse(text),
        headers: response.headers,
      };
    },
    async close() {
      await app.close();
      await ns.close();
      await store.close();
      await cleanup();
    },
  };
}
